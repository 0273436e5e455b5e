-- Each cluster of near-copies gets a number (warehouse.clusters.cluster_numbers: 63 bits of a digest of its
-- cluster_id, stable across processes and versions), kept in mention_clusters and copied onto every
-- mention_targets row of its mentions. The workbench folds a page's near-copies by (brand, cluster_no)
-- straight from mention_targets: joining each listed row to mention_clusters and counting members by
-- cluster_id took 0.8-2.2 s per page (p95) at 10 M mentions on a quiet machine (bench/dashboard.py).
-- A mention not clustered (a file loaded before version 12 and not yet filled) has NULL: a line of its own.
-- The loader and corrections write it when they judge targets (warehouse.db.judge_targets); db.migrate fills the
-- numbers of what is stored. IF NOT EXISTS: a file whose version rows were rolled back applies this again,
-- and a file created by 012 since it gained the column has it already.
ALTER TABLE mention_clusters ADD COLUMN IF NOT EXISTS cluster_no BIGINT;
ALTER TABLE mention_targets ADD COLUMN IF NOT EXISTS cluster_no BIGINT;
