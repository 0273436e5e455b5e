-- Every view and macro analysts start from, each defined once, over the newest schema. warehouse/db.py
-- applies this file after the migrations on every writable open (CREATE OR REPLACE, so again and again
-- is the same as once). Change a view here, never in a migration; a migration may only drop or rename one.
-- Order matters: a view is created after the views and macros it reads.

-- The correction in force per (mention, brand, field).
CREATE OR REPLACE VIEW v_corrections AS
SELECT mention_id, brand, field,
       arg_max(new_value, correction_id) AS value,
       max(corrected_at) AS corrected_at,
       arg_max(corrected_by, correction_id) AS corrected_by,
       count(*) AS corrections
FROM corrections
GROUP BY ALL;

-- One row per mention, with its NLP, whether its source gave it no date, and the brands and products it
-- names (only the brands it is still about after corrections).
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

-- One row per (mention, brand, product-or-'*'): the judgement the loader keeps in mention_targets
-- (warehouse/sql/targets_judge.sql), with the mention's words and its cluster of near-copies.
-- It also joins on the day: a query that picks a few days of targets lets DuckDB skip every row group of
-- `mentions` outside those days (mentions arrive roughly in day order), instead of scanning all mention
-- ids (bench/scale.py). A target's day is its mention's day, so no row is gained or lost.
CREATE OR REPLACE VIEW v_target_mentions AS
SELECT
    t.mention_id, t.brand, t.product, t.source_kind, t.source_id, t.published_at, t.published_day,
    t.author, m.title, m.text, m.url, t.rating, t.sentiment_label, t.sentiment_score, t.moment, t.stage,
    coalesce(c.cluster_id, t.mention_id) AS cluster_id
FROM mention_targets t
JOIN mentions m ON m.mention_id = t.mention_id AND m.published_day = t.published_day
LEFT JOIN mention_clusters c ON c.mention_id = t.mention_id AND c.published_day = t.published_day;

-- One row per (mention, brand): the brand as a whole.
CREATE OR REPLACE VIEW v_brand_mentions AS
SELECT * EXCLUDE (product) FROM v_target_mentions WHERE product = '*';

-- The ZMOT picture per brand and day: how much research there is, what a researcher reading about
-- the brand over the last 30 days finds, and the brand's share of voice against its configured
-- competitors (only competitors that are themselves watched brands are counted).
CREATE OR REPLACE VIEW v_zmot_picture AS
WITH base AS (
    SELECT day, brand, mentions, negative, positive, zmot, zmot_negative, lzmot, lzmot_negative, umot, umot_negative, avg_sentiment
    FROM daily_signals WHERE product = '*' AND source_kind = '*'
),
competition AS (
    SELECT b.day, b.brand, coalesce(sum(c.mentions), 0) AS competitor_mentions
    FROM base b
    JOIN brands cat ON cat.brand = b.brand
    LEFT JOIN base c ON c.day = b.day AND list_contains(cat.competitors, c.brand)
    GROUP BY ALL
)
SELECT
    b.day, b.brand,
    b.zmot AS research_mentions,
    b.zmot_negative AS research_negative,
    b.zmot_negative / nullif(b.zmot, 0) AS research_negative_share,
    b.lzmot AS lzmot_mentions,
    b.lzmot_negative / nullif(b.lzmot, 0) AS lzmot_negative_share,
    b.umot AS umot_mentions,
    b.umot_negative / nullif(b.umot, 0) AS umot_negative_share,
    b.mentions,
    sum(b.positive) OVER w30 / nullif(sum(b.mentions) OVER w30, 0) AS seen_positive_share_30d,
    sum(b.negative) OVER w30 / nullif(sum(b.mentions) OVER w30, 0) AS seen_negative_share_30d,
    sum(b.lzmot) OVER w30 AS lzmot_stories_30d,
    b.mentions / nullif(b.mentions + coalesce(c.competitor_mentions, 0), 0) AS share_of_voice,
    coalesce(c.competitor_mentions, 0) AS competitor_mentions
FROM base b
LEFT JOIN competition c USING (day, brand)
WINDOW w30 AS (PARTITION BY b.brand ORDER BY b.day RANGE BETWEEN INTERVAL 29 DAY PRECEDING AND CURRENT ROW);

-- Repeat-negative authors and the Normann balance for any period, as table macros: a page that shows
-- one month reads that month's rows (row groups outside it are skipped) instead of grouping every
-- author the warehouse ever saw (1.3 s at 10 M mentions, 0.1 s for 30 days). The views are the macros
-- over all time.

-- People with three or more negative experiences with a brand (negative, or LZMOT), the point research
-- says customers leave. Authors are pseudonymised: a stable key, never the name. The repeated authors are
-- found with a plain count first, and the day counts and id lists built for those alone.
CREATE OR REPLACE MACRO repeat_negative_authors(first_day, last_day) AS TABLE
WITH negative AS (
    SELECT source_kind, author, brand, mention_id, published_at, published_day
    FROM mention_targets
    WHERE product = '*' AND author IS NOT NULL AND (sentiment_label = 'negative' OR moment = 'lzmot')
      AND published_day BETWEEN first_day AND last_day
),
repeated AS (
    SELECT source_kind, author, brand FROM negative GROUP BY ALL HAVING count(*) >= 3
)
SELECT  -- group first, pseudonymise after: one hash per author, not per mention
    'author_' || left(sha256(source_kind || ':' || author), 12) AS author_key,
    brand, source_kind,
    count(*) AS negative_mentions,
    count(DISTINCT published_day) AS negative_days,
    min(published_day) AS first_day,
    max(published_day) AS last_day,
    list(mention_id ORDER BY published_at) AS mention_ids
FROM negative SEMI JOIN repeated USING (source_kind, author, brand)
GROUP BY source_kind, author, brand;

CREATE OR REPLACE VIEW v_repeat_negative_authors AS
SELECT * FROM repeat_negative_authors(DATE '0001-01-01', DATE '9999-12-31');

-- Normann's balance per brand and month: good moments (positive or advocacy) against bad ones
-- (negative or LZMOT). He held that about twelve good moments undo one bad; balance >= 12 is healthy.
CREATE OR REPLACE MACRO normann_balance(first_day, last_day) AS TABLE
SELECT
    brand,
    date_trunc('month', published_day)::DATE AS month,
    count(*) FILTER (WHERE sentiment_label = 'positive' OR moment = 'umot') AS good_moments,
    count(*) FILTER (WHERE sentiment_label = 'negative' OR moment = 'lzmot') AS bad_moments,
    round(count(*) FILTER (WHERE sentiment_label = 'positive' OR moment = 'umot')
          / nullif(count(*) FILTER (WHERE sentiment_label = 'negative' OR moment = 'lzmot'), 0), 2) AS balance,
    12 AS normann_target
FROM mention_targets
WHERE product = '*' AND published_day BETWEEN first_day AND last_day
GROUP BY ALL;

CREATE OR REPLACE VIEW v_normann_balance AS
SELECT * FROM normann_balance(DATE '0001-01-01', DATE '9999-12-31');

-- Each cluster of near-copies once (warehouse/clusters.py): its first mention, how many mentions it
-- has, and its span.
CREATE OR REPLACE VIEW v_clusters AS
SELECT
    cluster_id,
    count(*) AS mentions,
    min(published_at) AS first_published_at,
    max(published_at) AS last_published_at,
    list(mention_id ORDER BY published_at, mention_id) AS mention_ids
FROM mention_clusters
GROUP BY cluster_id;
