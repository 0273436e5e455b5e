-- mention_nlp and mention_refs carry their mention's published_day, as mention_targets, mention_tags and
-- mention_clusters do: a look-up by id that also names the day reads only that day's storage (zone maps)
-- instead of every id in the warehouse (at 10 M mentions 0.7-0.9 s per table per look-up; bench/dashboard.py).
-- The loader writes it from the run's mentions; here existing rows get it from `mentions`. The tables are
-- rebuilt in day order (as 006_loader_keys.sql rebuilt them) so that each day is a few row groups.
-- A file whose version rows were rolled back applies this again: a day already there is taken afresh.
DROP TABLE IF EXISTS mention_nlp_015;
CREATE TABLE mention_nlp_015 (
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
    model_version    VARCHAR NOT NULL,
    published_day    DATE NOT NULL             -- the mention's (mentions.published_day)
);
INSERT INTO mention_nlp_015 BY NAME
SELECT n.*, m.published_day
FROM (SELECT COLUMNS(lambda c: c <> 'published_day') FROM mention_nlp) n JOIN mentions m USING (mention_id)
ORDER BY m.published_day;
DROP TABLE mention_nlp;
ALTER TABLE mention_nlp_015 RENAME TO mention_nlp;

DROP TABLE IF EXISTS mention_refs_015;
CREATE TABLE mention_refs_015 (
    mention_id       VARCHAR NOT NULL,
    ref_index        INTEGER NOT NULL,         -- order within the mention
    brand            VARCHAR NOT NULL,
    product          VARCHAR,                  -- NULL when the brand itself is named
    matched_text     VARCHAR NOT NULL,
    start_char       INTEGER NOT NULL,         -- offsets into title + "\n\n" + text
    end_char         INTEGER NOT NULL,
    sentiment_label  VARCHAR NOT NULL,
    sentiment_score  DOUBLE,
    moment           VARCHAR NOT NULL,         -- the moment relative to this brand or product
    stage            VARCHAR,
    moment_confidence DOUBLE,
    moment_evidence  VARCHAR[],
    implicit         BOOLEAN DEFAULT false,    -- 004_implicit_refs.sql
    published_day    DATE NOT NULL             -- the mention's (mentions.published_day)
);
INSERT INTO mention_refs_015 BY NAME
SELECT r.*, m.published_day
FROM (SELECT COLUMNS(lambda c: c <> 'published_day') FROM mention_refs) r JOIN mentions m USING (mention_id)
ORDER BY m.published_day;
DROP TABLE mention_refs;
ALTER TABLE mention_refs_015 RENAME TO mention_refs;
