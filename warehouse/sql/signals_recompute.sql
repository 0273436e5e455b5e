-- Recompute daily_signals for the days in the temp table touched_days(day).
-- One row per day x brand x product-or-'*' x source_kind-or-'*'.
DELETE FROM daily_signals WHERE day IN (SELECT day FROM touched_days);

INSERT INTO daily_signals
WITH brand_level AS (
    SELECT published_day AS day, brand, source_kind, mention_id, sentiment_label, sentiment_score
    FROM v_brand_mentions
    WHERE published_day IN (SELECT day FROM touched_days)
),
product_level AS (
    SELECT m.published_day AS day, r.brand, r.product, m.source_kind, r.mention_id,
        CASE WHEN count(DISTINCT r.sentiment_label) = 1 THEN min(r.sentiment_label)
             WHEN avg(r.sentiment_score) >= 0.05 THEN 'positive'
             WHEN avg(r.sentiment_score) <= -0.05 THEN 'negative'
             ELSE 'neutral' END AS sentiment_label,
        avg(r.sentiment_score) AS sentiment_score
    FROM mention_refs r JOIN mentions m USING (mention_id)
    WHERE r.product IS NOT NULL AND m.published_day IN (SELECT day FROM touched_days)
    GROUP BY ALL
),
per_mention AS (
    SELECT day, brand, '*' AS product, source_kind, mention_id, sentiment_label, sentiment_score FROM brand_level
    UNION ALL
    SELECT day, brand, product, source_kind, mention_id, sentiment_label, sentiment_score FROM product_level
)
SELECT
    day, brand, product, coalesce(source_kind, '*') AS source_kind,
    count(DISTINCT mention_id)::INTEGER AS mentions,
    count(DISTINCT mention_id) FILTER (WHERE sentiment_label = 'positive')::INTEGER AS positive,
    count(DISTINCT mention_id) FILTER (WHERE sentiment_label = 'neutral')::INTEGER AS neutral,
    count(DISTINCT mention_id) FILTER (WHERE sentiment_label = 'negative')::INTEGER AS negative,
    count(DISTINCT mention_id) FILTER (WHERE sentiment_label = 'unscored')::INTEGER AS unscored,
    avg(sentiment_score) AS avg_sentiment
FROM per_mention
GROUP BY GROUPING SETS ((day, brand, product, source_kind), (day, brand, product));
