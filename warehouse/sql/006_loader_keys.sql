-- mentions.mention_id and mention_nlp.mention_id lose their PRIMARY KEY indexes. Keeping the two ART
-- indexes up to date was most of a load's time (measured: 1 M new mentions into 3 M took 13-17 s with
-- them, 6-7 s without), and the loader already decides row by row what is new, edited or unchanged.
-- Both stay unique, enforced by the loader inside the run's transaction (warehouse/load.py):
--   * the run's mentions, NLP rows and references are deduplicated by id before anything is written;
--   * only ids absent from `mentions` are inserted; an edit updates its row in place;
--   * every load first updates the single row of `load_guard`, so two loads whose transactions
--     overlap conflict (DuckDB refuses the second) instead of both inserting the same new id.
-- tests/test_warehouse.py proves it. Rows, values and column order are kept.

CREATE TABLE mentions_006 (
    mention_id        VARCHAR NOT NULL,        -- stable: source kind + the source's own id; unique (the loader)
    source_kind       VARCHAR NOT NULL,        -- rss | reddit | reviews
    source_id         VARCHAR NOT NULL,        -- the configured source's name
    native_id         VARCHAR NOT NULL,        -- the source's own id (guid, fullname, URL)
    url               VARCHAR,
    author            VARCHAR,
    title             VARCHAR,
    text              VARCHAR NOT NULL,
    published_at      TIMESTAMP NOT NULL,      -- UTC
    published_day     DATE NOT NULL,           -- UTC day of published_at
    fetched_at        TIMESTAMP NOT NULL,      -- UTC, when this version was fetched
    declared_language VARCHAR,                 -- as the source declared it, if it did
    rating            DOUBLE,                  -- 0..1 for reviews, else NULL
    metadata          JSON,
    raw               VARCHAR,                 -- the payload as received, bounded
    content_hash      VARCHAR NOT NULL,        -- changes when an edit changes the stored text
    first_run         VARCHAR NOT NULL,        -- run that first stored it
    last_run          VARCHAR NOT NULL         -- run that last changed it
);
INSERT INTO mentions_006 SELECT * FROM mentions;
DROP TABLE mentions;
ALTER TABLE mentions_006 RENAME TO mentions;

CREATE TABLE mention_nlp_006 (
    mention_id       VARCHAR NOT NULL,         -- one row per mention; unique (the loader)
    language         VARCHAR NOT NULL,         -- ISO 639-1, or 'und'
    language_score   DOUBLE,
    sentiment_label  VARCHAR NOT NULL,         -- negative | neutral | positive | unscored
    sentiment_score  DOUBLE,                   -- -1..1, NULL when unscored
    ref_count        INTEGER NOT NULL,         -- brand references found; 0 = prefilter false positive
    moment           VARCHAR NOT NULL,         -- zmot | lzmot | umot | none, for the text as a whole
    stage            VARCHAR,                  -- discovery | consideration | purchase | experience | loyalty | recommendation
    moment_confidence DOUBLE,                  -- 0..1
    moment_evidence  VARCHAR[],                -- the cues that decided it
    model_version    VARCHAR NOT NULL
);
INSERT INTO mention_nlp_006 SELECT * FROM mention_nlp;
DROP TABLE mention_nlp;
ALTER TABLE mention_nlp_006 RENAME TO mention_nlp;

-- One row; every load updates it first, in its own transaction, so overlapping loads conflict.
CREATE TABLE IF NOT EXISTS load_guard (
    guard            INTEGER PRIMARY KEY CHECK (guard = 1),
    run_key          VARCHAR                   -- the last run loaded
);
INSERT OR IGNORE INTO load_guard VALUES (1, NULL);
