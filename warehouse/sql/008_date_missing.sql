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

-- The views it changed are defined in views.sql.
