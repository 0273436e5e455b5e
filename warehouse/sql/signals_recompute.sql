-- Recompute daily_signals for the days in the temp table touched_days(day).
-- One row per day x brand x product-or-'*' x source_kind-or-'*'.
-- Unique voices: a cluster of near-copies counts once (a mention not yet clustered is its own), and so
-- does an author (source kind + name; a mention without an author is a voice of its own).
DELETE FROM daily_signals WHERE day IN (SELECT day FROM touched_days);

INSERT INTO daily_signals BY NAME
SELECT
    published_day AS day, brand, product, coalesce(source_kind, '*') AS source_kind,
    count(*)::INTEGER AS mentions,
    count(*) FILTER (WHERE sentiment_label = 'positive')::INTEGER AS positive,
    count(*) FILTER (WHERE sentiment_label = 'neutral')::INTEGER AS neutral,
    count(*) FILTER (WHERE sentiment_label = 'negative')::INTEGER AS negative,
    count(*) FILTER (WHERE sentiment_label = 'unscored')::INTEGER AS unscored,
    avg(sentiment_score) AS avg_sentiment,
    count(*) FILTER (WHERE moment = 'zmot')::INTEGER AS zmot,
    count(*) FILTER (WHERE moment = 'lzmot')::INTEGER AS lzmot,
    count(*) FILTER (WHERE moment = 'umot')::INTEGER AS umot,
    count(*) FILTER (WHERE moment = 'zmot' AND sentiment_label = 'negative')::INTEGER AS zmot_negative,
    count(*) FILTER (WHERE moment = 'lzmot' AND sentiment_label = 'negative')::INTEGER AS lzmot_negative,
    count(*) FILTER (WHERE moment = 'umot' AND sentiment_label = 'negative')::INTEGER AS umot_negative,
    avg(rating) AS avg_rating,
    count(rating)::INTEGER AS rating_count,
    count(DISTINCT cluster)::INTEGER AS clusters,
    count(DISTINCT voice)::INTEGER AS authors,
    count(DISTINCT cluster) FILTER (WHERE sentiment_label = 'negative')::INTEGER AS negative_clusters,
    count(DISTINCT voice) FILTER (WHERE sentiment_label = 'negative')::INTEGER AS negative_authors,
    count(DISTINCT cluster) FILTER (WHERE moment = 'lzmot')::INTEGER AS lzmot_clusters,
    count(DISTINCT voice) FILTER (WHERE moment = 'lzmot')::INTEGER AS lzmot_authors
FROM (
    SELECT t.*, coalesce(c.cluster_id, t.mention_id) AS cluster,
           CASE WHEN t.author IS NULL THEN 'mention:' || t.mention_id ELSE t.source_kind || ':' || t.author END AS voice
    FROM mention_targets t
    LEFT JOIN mention_clusters c ON c.mention_id = t.mention_id AND c.published_day = t.published_day
    WHERE t.published_day IN (SELECT day FROM touched_days)
)
GROUP BY GROUPING SETS ((published_day, brand, product, source_kind), (published_day, brand, product));
