-- Recompute daily_tag_signals for the days in the temp table touched_days(day): per brand from
-- mention_targets (so analysts' corrections count), and '*' for every tagged mention, from mention_nlp.
DELETE FROM daily_tag_signals WHERE day IN (SELECT day FROM touched_days);

INSERT INTO daily_tag_signals BY NAME
SELECT g.published_day AS day, t.brand, g.tag,
       count(*)::INTEGER AS mentions,
       count(*) FILTER (WHERE t.sentiment_label = 'negative')::INTEGER AS negative,
       count(*) FILTER (WHERE t.sentiment_label = 'positive')::INTEGER AS positive,
       count(*) FILTER (WHERE t.moment = 'lzmot')::INTEGER AS lzmot
FROM mention_tags g
JOIN mention_targets t ON t.mention_id = g.mention_id AND t.published_day = g.published_day AND t.product = '*'
WHERE g.published_day IN (SELECT day FROM touched_days)
GROUP BY ALL
UNION ALL
SELECT g.published_day, '*', g.tag,
       count(*)::INTEGER,
       count(*) FILTER (WHERE n.sentiment_label = 'negative')::INTEGER,
       count(*) FILTER (WHERE n.sentiment_label = 'positive')::INTEGER,
       count(*) FILTER (WHERE n.moment = 'lzmot')::INTEGER
FROM mention_tags g
LEFT JOIN mention_nlp n ON n.mention_id = g.mention_id
WHERE g.published_day IN (SELECT day FROM touched_days)
GROUP BY ALL;
