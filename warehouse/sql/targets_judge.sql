-- The mention_targets rows of the mentions in the temp view judge_mentions, judged from their references
-- in the temp view judge_refs; warehouse.db.judge_targets inserts them (with each mention's cluster number)
-- after the caller deleted their old rows (edits), or there are none (new mentions, a migration filling the
-- table). The loader passes the run's own rows, so nothing here scans the whole warehouse.
-- When all of a target's scored references agree, that is its label; when they disagree, the mean
-- score decides with the usual +/-0.05 cut. A review rated below 0.2 (one star of five) counts as
-- negative whatever the text says. The moment is the most telling one: lzmot, then zmot, then umot.
WITH refs AS (
    SELECT * FROM judge_refs
),
targets AS (
    SELECT mention_id, brand, '*' AS product, ref_index, sentiment_label, sentiment_score, moment, stage, moment_confidence
    FROM refs
    UNION ALL
    SELECT mention_id, brand, product, ref_index, sentiment_label, sentiment_score, moment, stage, moment_confidence
    FROM refs WHERE product IS NOT NULL
),
judged AS (
    SELECT
        mention_id, brand, product,
        avg(sentiment_score) AS text_sentiment_score,
        CASE
            WHEN count(sentiment_score) = 0 THEN 'unscored'
            WHEN min(sentiment_label) FILTER (WHERE sentiment_label <> 'unscored')
                 = max(sentiment_label) FILTER (WHERE sentiment_label <> 'unscored')  -- one distinct label (no DISTINCT aggregate: it costs a second grouping and a join)
                THEN min(sentiment_label) FILTER (WHERE sentiment_label <> 'unscored')
            WHEN avg(sentiment_score) >= 0.05 THEN 'positive'
            WHEN avg(sentiment_score) <= -0.05 THEN 'negative'
            ELSE 'neutral'
        END AS text_sentiment_label,
        arg_max(moment, CASE moment WHEN 'lzmot' THEN 4 WHEN 'zmot' THEN 3 WHEN 'umot' THEN 2 ELSE 1 END * 10 + coalesce(moment_confidence, 0) - ref_index * 1e-6) AS moment,
        arg_max(stage, CASE moment WHEN 'lzmot' THEN 4 WHEN 'zmot' THEN 3 WHEN 'umot' THEN 2 ELSE 1 END * 10 + coalesce(moment_confidence, 0) - ref_index * 1e-6) AS stage
    FROM targets
    GROUP BY ALL
)
SELECT
    j.mention_id, j.brand, j.product, m.source_kind, m.source_id, m.published_at, m.published_day, m.author, m.rating,
    CASE WHEN m.rating < 0.2 THEN 'negative' ELSE j.text_sentiment_label END AS sentiment_label,
    CASE WHEN m.rating < 0.2 THEN least(coalesce(j.text_sentiment_score, -1), -0.5) ELSE j.text_sentiment_score END AS sentiment_score,
    j.moment, j.stage
FROM judged j
JOIN judge_mentions m USING (mention_id)
