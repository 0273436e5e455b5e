-- mention_nlp and mention_refs carry their mention's published_day, as mention_targets, mention_tags and
-- mention_clusters do: a look-up by id that also names the day reads only that day's storage (zone maps)
-- instead of every id in the warehouse (at 10 M mentions 0.7-0.9 s per table per look-up; bench/dashboard.py).
-- The loader writes it from the run's mentions (warehouse/load.py); here existing rows get it from `mentions`
-- (no NOT NULL: DuckDB refuses one in the transaction that filled the column).
-- Rows stay where they are: loads append them run by run, so each day already lies in a few row groups.
-- IF NOT EXISTS: a file whose version rows were rolled back applies this again.
ALTER TABLE mention_nlp ADD COLUMN IF NOT EXISTS published_day DATE;
UPDATE mention_nlp SET published_day = m.published_day FROM mentions m WHERE m.mention_id = mention_nlp.mention_id;

ALTER TABLE mention_refs ADD COLUMN IF NOT EXISTS published_day DATE;
UPDATE mention_refs SET published_day = m.published_day FROM mentions m WHERE m.mention_id = mention_refs.mention_id;
