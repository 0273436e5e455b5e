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

CREATE OR REPLACE VIEW v_target_mentions AS
SELECT
    t.mention_id, t.brand, t.product, t.source_kind, t.source_id, t.published_at, t.published_day,
    t.author, m.title, m.text, m.url, t.rating, t.sentiment_label, t.sentiment_score, t.moment, t.stage
FROM mention_targets t
JOIN mentions m USING (mention_id);

-- The aggregate views need no text: they read the targets table alone.
CREATE OR REPLACE VIEW v_normann_balance AS
SELECT
    brand,
    date_trunc('month', published_day)::DATE AS month,
    count(*) FILTER (WHERE sentiment_label = 'positive' OR moment = 'umot') AS good_moments,
    count(*) FILTER (WHERE sentiment_label = 'negative' OR moment = 'lzmot') AS bad_moments,
    round(count(*) FILTER (WHERE sentiment_label = 'positive' OR moment = 'umot')
          / nullif(count(*) FILTER (WHERE sentiment_label = 'negative' OR moment = 'lzmot'), 0), 2) AS balance,
    12 AS normann_target
FROM mention_targets
WHERE product = '*'
GROUP BY ALL;

CREATE OR REPLACE VIEW v_repeat_negative_authors AS
WITH repeated AS (  -- group first, pseudonymise after: one hash per author, not per mention
    SELECT
        source_kind, author, brand,
        count(*) AS negative_mentions,
        count(DISTINCT published_day) AS negative_days,
        min(published_day) AS first_day,
        max(published_day) AS last_day,
        list(mention_id ORDER BY published_at) AS mention_ids
    FROM mention_targets
    WHERE product = '*' AND author IS NOT NULL AND (sentiment_label = 'negative' OR moment = 'lzmot')
    GROUP BY ALL
    HAVING count(*) >= 3
)
SELECT
    'author_' || left(sha256(source_kind || ':' || author), 12) AS author_key,
    brand, source_kind, negative_mentions, negative_days, first_day, last_day, mention_ids
FROM repeated;
