-- Analysts' corrections: for one mention and one brand, the moment, the sentiment, "not about this
-- brand" (a false match) or "duplicate of" another mention. Append-only: a correction is never
-- updated or deleted, and the latest one per (mention, brand, field) wins (v_corrections).
-- warehouse/corrections.py applies them to mention_targets whenever a mention's targets are judged
-- (a load, an edit, re-enrichment, a new model) and when one is recorded, so every view over
-- mention_targets, daily_signals, the report and spike detection obey them.
-- IF NOT EXISTS: a file whose version rows were rolled back applies this again, and must keep what analysts recorded.
CREATE SEQUENCE IF NOT EXISTS corrections_seq;
CREATE TABLE IF NOT EXISTS corrections (
    correction_id    BIGINT PRIMARY KEY DEFAULT nextval('corrections_seq'),  -- order of recording
    mention_id       VARCHAR NOT NULL,
    brand            VARCHAR NOT NULL,
    field            VARCHAR NOT NULL CHECK (field IN ('moment', 'sentiment', 'not_about', 'duplicate_of')),
    old_value        VARCHAR,                  -- what the views showed before it (NULL: nothing)
    new_value        VARCHAR NOT NULL,         -- a moment, a sentiment label, 'true', or a mention_id
    corrected_by     VARCHAR NOT NULL,
    corrected_at     TIMESTAMP NOT NULL,       -- UTC
    note             VARCHAR
);

-- The views it changed are defined in views.sql.
