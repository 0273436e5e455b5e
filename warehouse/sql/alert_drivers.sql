-- The mentions behind one alert and the baseline before it: the alert's series (brand, product,
-- source kind) and the metric's own mentions ({condition}, from warehouse.detect.METRICS), from
-- $baseline_start to $window_end, each with the window flag, the products it names and the words
-- that matched the brand in it (never news: "Acme" in every mention about Acme Mobile).
SELECT
    t.published_at >= $window_start AS in_window,
    t.mention_id, t.source_kind, t.source_id, t.author,
    CASE WHEN t.title IS NULL OR starts_with(t.text, t.title) THEN t.text ELSE t.title || ' . ' || t.text END AS text,
    (SELECT list(DISTINCT p.product ORDER BY p.product) FROM mention_targets p
     WHERE p.mention_id = t.mention_id AND p.brand = t.brand AND p.product <> '*') AS products,
    (SELECT list(DISTINCT r.matched_text) FROM mention_refs r
     WHERE r.mention_id = t.mention_id AND r.brand = t.brand) AS brand_words
FROM v_target_mentions t
WHERE t.brand = $brand AND t.product = $product AND ($source_kind = '*' OR t.source_kind = $source_kind)
  AND t.published_day BETWEEN $baseline_start::DATE AND $window_end::DATE
  AND t.published_at >= $baseline_start AND t.published_at < $window_end
  AND ({condition})
ORDER BY t.mention_id
