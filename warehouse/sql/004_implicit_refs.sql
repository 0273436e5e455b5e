-- A review on a product's page is about that product even when its text never names it: the
-- reference is then implicit (no matched text, offsets 0), and says so.
ALTER TABLE mention_refs ADD COLUMN implicit BOOLEAN DEFAULT false;
UPDATE mention_refs SET implicit = false WHERE implicit IS NULL;
