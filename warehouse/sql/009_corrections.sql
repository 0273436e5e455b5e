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

-- The correction in force per (mention, brand, field).
CREATE OR REPLACE VIEW v_corrections AS
SELECT mention_id, brand, field,
       arg_max(new_value, correction_id) AS value,
       max(corrected_at) AS corrected_at,
       arg_max(corrected_by, correction_id) AS corrected_by,
       count(*) AS corrections
FROM corrections
GROUP BY ALL;

-- v_mentions names only the brands a mention is still about; otherwise as 008_date_missing.sql.
CREATE OR REPLACE VIEW v_mentions AS
SELECT
    m.mention_id, m.source_kind, m.source_id, m.published_at, m.published_day, m.date_missing,
    m.author, m.title, m.text, m.url, m.rating,
    n.language, n.sentiment_label, n.sentiment_score, n.moment, n.stage, n.ref_count,
    list_distinct(list(r.brand ORDER BY r.ref_index) FILTER (WHERE r.brand IS NOT NULL)) AS brands,
    list_distinct(list(r.product ORDER BY r.ref_index) FILTER (WHERE r.product IS NOT NULL)) AS products,
    n.model_version
FROM mentions m
LEFT JOIN mention_nlp n USING (mention_id)
LEFT JOIN (
    SELECT * FROM mention_refs
    ANTI JOIN (SELECT mention_id, brand FROM v_corrections
               WHERE (field = 'not_about' AND value = 'true') OR (field = 'duplicate_of' AND value <> ''))
    USING (mention_id, brand)
) r USING (mention_id)
GROUP BY ALL;
