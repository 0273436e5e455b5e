-- Two views, faster at 10 M mentions (bench/scale.py); their rows are unchanged.
--
-- v_target_mentions also joins on the day: a query that picks a few days of targets lets DuckDB skip
-- every row group of `mentions` outside those days (mentions arrive roughly in day order), instead of
-- scanning all mention ids. A target's day is its mention's day, so no row is gained or lost.
CREATE OR REPLACE VIEW v_target_mentions AS
SELECT
    t.mention_id, t.brand, t.product, t.source_kind, t.source_id, t.published_at, t.published_day,
    t.author, m.title, m.text, m.url, t.rating, t.sentiment_label, t.sentiment_score, t.moment, t.stage
FROM mention_targets t
JOIN mentions m ON m.mention_id = t.mention_id AND m.published_day = t.published_day;

-- v_repeat_negative_authors finds the repeated authors with a plain count first, and builds the day
-- counts and id lists for those alone (a quarter of the authors at 10 M mentions).
CREATE OR REPLACE VIEW v_repeat_negative_authors AS
WITH negative AS (
    SELECT source_kind, author, brand, mention_id, published_at, published_day
    FROM mention_targets
    WHERE product = '*' AND author IS NOT NULL AND (sentiment_label = 'negative' OR moment = 'lzmot')
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
