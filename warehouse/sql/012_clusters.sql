-- One voice counted once (warehouse/clusters.py): each mention's cluster of near-copies, the MinHash
-- signature it was judged on and its LSH bands, kept so that a new process matches new mentions against
-- stored ones without rebuilding anything. The loader fills both in its transaction; db.migrate fills
-- them for the mentions already stored and recomputes their days' signals.
-- IF NOT EXISTS: a file whose version rows were rolled back applies this again.
CREATE TABLE IF NOT EXISTS mention_clusters (
    mention_id       VARCHAR NOT NULL,          -- one row per mention (the loader keeps it so)
    published_at     TIMESTAMP NOT NULL,
    published_day    DATE NOT NULL,
    cluster_id       VARCHAR NOT NULL,          -- the mention_id of the cluster's first stored mention; never changes
    similarity       DOUBLE,                    -- estimated Jaccard to the member it joined; NULL: it started the cluster
    signature        BLOB                       -- MinHash, uint32 x 66; NULL: too short to compare (its own cluster)
);

CREATE TABLE IF NOT EXISTS mention_lsh (
    bucket           BIGINT NOT NULL,           -- one per band of the signature
    mention_id       VARCHAR NOT NULL,
    published_at     TIMESTAMP NOT NULL         -- the look-back window is judged on this
);

-- Unique voices beside the raw counts (warehouse/sql/signals_recompute.sql). An author is a source
-- kind and the name the source gives; a mention with no author is a voice of its own.
ALTER TABLE daily_signals ADD COLUMN IF NOT EXISTS clusters INTEGER DEFAULT 0;
ALTER TABLE daily_signals ADD COLUMN IF NOT EXISTS authors INTEGER DEFAULT 0;
ALTER TABLE daily_signals ADD COLUMN IF NOT EXISTS negative_clusters INTEGER DEFAULT 0;
ALTER TABLE daily_signals ADD COLUMN IF NOT EXISTS negative_authors INTEGER DEFAULT 0;
ALTER TABLE daily_signals ADD COLUMN IF NOT EXISTS lzmot_clusters INTEGER DEFAULT 0;
ALTER TABLE daily_signals ADD COLUMN IF NOT EXISTS lzmot_authors INTEGER DEFAULT 0;

-- v_target_mentions carries each mention's cluster; otherwise as 007_view_speed.sql.
CREATE OR REPLACE VIEW v_target_mentions AS
SELECT
    t.mention_id, t.brand, t.product, t.source_kind, t.source_id, t.published_at, t.published_day,
    t.author, m.title, m.text, m.url, t.rating, t.sentiment_label, t.sentiment_score, t.moment, t.stage,
    coalesce(c.cluster_id, t.mention_id) AS cluster_id
FROM mention_targets t
JOIN mentions m ON m.mention_id = t.mention_id AND m.published_day = t.published_day
LEFT JOIN mention_clusters c ON c.mention_id = t.mention_id AND c.published_day = t.published_day;

CREATE OR REPLACE VIEW v_brand_mentions AS
SELECT * EXCLUDE (product) FROM v_target_mentions WHERE product = '*';

-- Each cluster once: its first mention, how many mentions it has, and its span.
CREATE OR REPLACE VIEW v_clusters AS
SELECT
    cluster_id,
    count(*) AS mentions,
    min(published_at) AS first_published_at,
    max(published_at) AS last_published_at,
    list(mention_id ORDER BY published_at, mention_id) AS mention_ids
FROM mention_clusters
GROUP BY cluster_id;
