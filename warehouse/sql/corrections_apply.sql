-- Apply the corrections in force to the mention_targets rows of the mentions in the temp table
-- correction_scope(mention_id), freshly judged from their references. A correction for a brand
-- covers the brand's row and its products' rows in that mention. An analyst's sentiment label carries
-- no score: the row's score becomes NULL, so avg_sentiment averages the model scores left standing.
CREATE OR REPLACE TEMP TABLE corrections_in_scope AS
SELECT * FROM v_corrections WHERE mention_id IN (SELECT mention_id FROM correction_scope);

DELETE FROM mention_targets USING corrections_in_scope c
WHERE c.mention_id = mention_targets.mention_id AND c.brand = mention_targets.brand
  AND ((c.field = 'not_about' AND c.value = 'true') OR (c.field = 'duplicate_of' AND c.value <> ''));

UPDATE mention_targets SET moment = c.value
FROM corrections_in_scope c
WHERE c.mention_id = mention_targets.mention_id AND c.brand = mention_targets.brand AND c.field = 'moment';

UPDATE mention_targets SET sentiment_label = c.value, sentiment_score = NULL
FROM corrections_in_scope c
WHERE c.mention_id = mention_targets.mention_id AND c.brand = mention_targets.brand AND c.field = 'sentiment';
