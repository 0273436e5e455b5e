-- mentions.date_missing: the source gave the item no date (an RSS entry without pubDate/updated, a
-- review without datePublished), so published_at is when the run that first saw it fetched it,
-- clamped to that run's interval end; no later run stores it again or moves it (warehouse/load.py).
-- It was the metadata key `date_missing` (RSS, reviews); the column replaces it, and the key goes.
ALTER TABLE mentions ADD COLUMN date_missing BOOLEAN DEFAULT false;
UPDATE mentions
SET date_missing = coalesce(metadata->>'date_missing' = 'true', false),
    metadata = json_merge_patch(metadata, '{"date_missing": null}')
WHERE metadata->>'date_missing' IS NOT NULL;
UPDATE mentions SET date_missing = false WHERE date_missing IS NULL;

-- v_mentions shows the flag beside the date it qualifies; otherwise as 002_views.sql.
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
LEFT JOIN mention_refs r USING (mention_id)
GROUP BY ALL;
