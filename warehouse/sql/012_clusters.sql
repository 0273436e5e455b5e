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
    cluster_no       BIGINT,                    -- its number (016_cluster_numbers.sql); here so that this version's fill can write it
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

-- The views it changed are defined in views.sql.
