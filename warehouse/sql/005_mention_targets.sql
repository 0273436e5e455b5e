-- The judgement of each target (a brand, or one of its products) within a mention is kept in a
-- table the loader maintains for the mentions each run changes (warehouse/sql/targets_judge.sql),
-- so analysts' views and the signals recompute read one row per target instead of re-judging every
-- reference in the warehouse on every query. db.migrate fills it for existing mentions.
CREATE TABLE mention_targets (
    mention_id       VARCHAR NOT NULL,
    brand            VARCHAR NOT NULL,
    product          VARCHAR NOT NULL,          -- '*' for the brand as a whole
    source_kind      VARCHAR NOT NULL,
    source_id        VARCHAR NOT NULL,
    published_at     TIMESTAMP NOT NULL,
    published_day    DATE NOT NULL,
    author           VARCHAR,
    rating           DOUBLE,
    sentiment_label  VARCHAR NOT NULL,          -- a review rated below 0.2 is negative whatever its text says
    sentiment_score  DOUBLE,
    moment           VARCHAR NOT NULL,          -- the most telling one toward this target
    stage            VARCHAR
);

-- The views it changed are defined in views.sql.
