-- The mentions behind one alert and the baseline before it: the alert's series (brand, product,
-- source kind) and the metric's own mentions ({condition}, from warehouse.detect.METRICS), from
-- $baseline_start to $window_end, each with the window flag, the products it names and the words
-- that matched the brand in it (never news: "Acme" in every mention about Acme Mobile), its cluster of
-- near-copies and its tags.
WITH scoped AS (
    SELECT t.published_at >= $window_start AS in_window, t.mention_id, t.source_kind, t.source_id, t.author, t.cluster_id,
           CASE WHEN t.title IS NULL OR starts_with(t.text, t.title) THEN t.text ELSE t.title || ' . ' || t.text END AS text
    FROM v_target_mentions t
    WHERE t.brand = $brand AND t.product = $product AND ($source_kind = '*' OR t.source_kind = $source_kind)
      AND t.published_day BETWEEN $baseline_start::DATE AND $window_end::DATE
      AND t.published_at >= $baseline_start AND t.published_at < $window_end
      AND ({condition})
),
products AS (  -- the day filter lets DuckDB skip the targets of other days
    SELECT p.mention_id, list(DISTINCT p.product ORDER BY p.product) AS products
    FROM mention_targets p SEMI JOIN scoped s ON s.mention_id = p.mention_id
    WHERE p.brand = $brand AND p.product <> '*' AND p.published_day BETWEEN $baseline_start::DATE AND $window_end::DATE
    GROUP BY p.mention_id
),
brand_words AS (
    SELECT r.mention_id, list(DISTINCT r.matched_text) AS brand_words
    FROM mention_refs r SEMI JOIN scoped s ON s.mention_id = r.mention_id
    WHERE r.brand = $brand
    GROUP BY r.mention_id
),
tags AS (
    SELECT g.mention_id, list(DISTINCT g.tag ORDER BY g.tag) AS tags
    FROM mention_tags g SEMI JOIN scoped s ON s.mention_id = g.mention_id
    WHERE g.published_day BETWEEN $baseline_start::DATE AND $window_end::DATE
    GROUP BY g.mention_id
)
SELECT s.in_window, s.mention_id, s.source_kind, s.source_id, s.author, s.text, p.products, w.brand_words,
       s.cluster_id, g.tags
FROM scoped s
LEFT JOIN products p USING (mention_id)
LEFT JOIN brand_words w USING (mention_id)
LEFT JOIN tags g USING (mention_id)
ORDER BY s.mention_id
