-- Views an analyst can start from.

CREATE OR REPLACE VIEW v_mentions AS
SELECT
    m.mention_id, m.source_kind, m.source_id, m.published_at, m.published_day,
    m.author, m.title, m.text, m.url, m.rating,
    n.language, n.sentiment_label, n.sentiment_score, n.ref_count,
    list_distinct(list(r.brand ORDER BY r.ref_index) FILTER (WHERE r.brand IS NOT NULL)) AS brands,
    list_distinct(list(r.product ORDER BY r.ref_index) FILTER (WHERE r.product IS NOT NULL)) AS products,
    n.model_version
FROM mentions m
LEFT JOIN mention_nlp n USING (mention_id)
LEFT JOIN mention_refs r USING (mention_id)
GROUP BY ALL;

CREATE OR REPLACE VIEW v_brand_mentions AS
-- One row per (mention, brand). When all of the brand's scored references agree, that is the label;
-- when they disagree, the mean score decides with the usual +/-0.05 cut.
SELECT
    m.mention_id, r.brand, m.source_kind, m.source_id, m.published_at, m.published_day,
    m.author, m.title, m.text, m.url, m.rating,
    list_distinct(list(r.product) FILTER (WHERE r.product IS NOT NULL)) AS products,
    avg(r.sentiment_score) AS sentiment_score,
    CASE
        WHEN count(r.sentiment_score) = 0 THEN 'unscored'
        WHEN count(DISTINCT r.sentiment_label) FILTER (WHERE r.sentiment_label <> 'unscored') = 1
            THEN min(r.sentiment_label) FILTER (WHERE r.sentiment_label <> 'unscored')
        WHEN avg(r.sentiment_score) >= 0.05 THEN 'positive'
        WHEN avg(r.sentiment_score) <= -0.05 THEN 'negative'
        ELSE 'neutral'
    END AS sentiment_label
FROM mention_refs r
JOIN mentions m USING (mention_id)
GROUP BY ALL;
