-- The warehouse's first shape. All timestamps are UTC, stored as TIMESTAMP without zone;
-- a "day" is a UTC calendar day.

CREATE TABLE mentions (
    mention_id        VARCHAR PRIMARY KEY,     -- stable: source kind + the source's own id
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

CREATE TABLE mention_nlp (
    mention_id       VARCHAR PRIMARY KEY,
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

CREATE TABLE mention_refs (
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
    moment_evidence  VARCHAR[]
);

CREATE TABLE brands (                          -- the catalog as configured at the last run
    brand            VARCHAR PRIMARY KEY,
    aliases          VARCHAR[] NOT NULL,
    products         VARCHAR[] NOT NULL,
    competitors      VARCHAR[] NOT NULL
);

CREATE TABLE daily_signals (
    day              DATE NOT NULL,            -- UTC day
    brand            VARCHAR NOT NULL,
    product          VARCHAR NOT NULL,         -- a product name, or '*' for the brand as a whole
    source_kind      VARCHAR NOT NULL,         -- rss | reddit | reviews, or '*' for all
    mentions         INTEGER NOT NULL,         -- distinct mentions referring to it
    positive         INTEGER NOT NULL,
    neutral          INTEGER NOT NULL,
    negative         INTEGER NOT NULL,
    unscored         INTEGER NOT NULL,         -- languages the sentiment model does not know
    avg_sentiment    DOUBLE,                   -- mean -1..1 over scored mentions
    zmot             INTEGER NOT NULL,         -- mentions that are prospects researching
    lzmot            INTEGER NOT NULL,         -- customers leaving or warning others off
    umot             INTEGER NOT NULL,         -- customers advocating
    zmot_negative    INTEGER NOT NULL,         -- ... of which negative in sentiment
    lzmot_negative   INTEGER NOT NULL,
    umot_negative    INTEGER NOT NULL,
    avg_rating       DOUBLE,                   -- 0..1, mean over reviews with a rating
    rating_count     INTEGER NOT NULL,         -- reviews with a rating
    PRIMARY KEY (day, brand, product, source_kind)
);

CREATE TABLE source_state (
    source_id        VARCHAR PRIMARY KEY,
    source_kind      VARCHAR NOT NULL,
    state            JSON NOT NULL,            -- the connector's cursor (watermark, etag, ...)
    updated_run      VARCHAR NOT NULL
);

CREATE TABLE rejects (
    reject_id        VARCHAR PRIMARY KEY,      -- hash of run, source, stage, reason, url, excerpt
    run_key          VARCHAR NOT NULL,
    source_id        VARCHAR NOT NULL,
    source_kind      VARCHAR NOT NULL,
    stage            VARCHAR NOT NULL,         -- extract | enrich | load | config
    reason           VARCHAR NOT NULL,         -- http_500, malformed_feed, too_large, ...
    message          VARCHAR NOT NULL,
    url              VARCHAR,
    payload_excerpt  VARCHAR
);

CREATE TABLE runs (
    run_key          VARCHAR PRIMARY KEY,      -- the logical date of the DAG run, ISO 8601
    interval_end     TIMESTAMP NOT NULL,       -- mentions published up to here were in scope
    mentions_new     INTEGER NOT NULL,
    mentions_updated INTEGER NOT NULL,
    rejects          INTEGER NOT NULL,
    sources_ok       VARCHAR[] NOT NULL,
    sources_failed   VARCHAR[] NOT NULL,
    days_touched     DATE[] NOT NULL
);
