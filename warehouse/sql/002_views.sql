-- Views an analyst can start from.

-- One row per mention, with its NLP and the brands and products it names.
CREATE OR REPLACE VIEW v_mentions AS
SELECT
    m.mention_id, m.source_kind, m.source_id, m.published_at, m.published_day,
    m.author, m.title, m.text, m.url, m.rating,
    n.language, n.sentiment_label, n.sentiment_score, n.moment, n.stage, n.ref_count,
    list_distinct(list(r.brand ORDER BY r.ref_index) FILTER (WHERE r.brand IS NOT NULL)) AS brands,
    list_distinct(list(r.product ORDER BY r.ref_index) FILTER (WHERE r.product IS NOT NULL)) AS products,
    n.model_version
FROM mentions m
LEFT JOIN mention_nlp n USING (mention_id)
LEFT JOIN mention_refs r USING (mention_id)
GROUP BY ALL;

-- One row per (mention, brand, product-or-'*'): the sentiment and moment of that target within the
-- mention. When all of its scored references agree, that is the label; when they disagree, the mean
-- score decides with the usual +/-0.05 cut. A review rated below 0.2 (one star of five) counts as
-- negative whatever the text says. The moment is the most telling one: lzmot, then zmot, then umot.
CREATE OR REPLACE VIEW v_target_mentions AS
WITH targets AS (
    SELECT mention_id, brand, '*' AS product, ref_index, sentiment_label, sentiment_score, moment, stage, moment_confidence
    FROM mention_refs
    UNION ALL
    SELECT mention_id, brand, product, ref_index, sentiment_label, sentiment_score, moment, stage, moment_confidence
    FROM mention_refs WHERE product IS NOT NULL
),
judged AS (
    SELECT
        mention_id, brand, product,
        avg(sentiment_score) AS text_sentiment_score,
        CASE
            WHEN count(sentiment_score) = 0 THEN 'unscored'
            WHEN count(DISTINCT sentiment_label) FILTER (WHERE sentiment_label <> 'unscored') = 1
                THEN min(sentiment_label) FILTER (WHERE sentiment_label <> 'unscored')
            WHEN avg(sentiment_score) >= 0.05 THEN 'positive'
            WHEN avg(sentiment_score) <= -0.05 THEN 'negative'
            ELSE 'neutral'
        END AS text_sentiment_label,
        arg_max(moment, CASE moment WHEN 'lzmot' THEN 4 WHEN 'zmot' THEN 3 WHEN 'umot' THEN 2 ELSE 1 END * 10 + coalesce(moment_confidence, 0) - ref_index * 1e-6) AS moment,
        arg_max(stage, CASE moment WHEN 'lzmot' THEN 4 WHEN 'zmot' THEN 3 WHEN 'umot' THEN 2 ELSE 1 END * 10 + coalesce(moment_confidence, 0) - ref_index * 1e-6) AS stage
    FROM targets
    GROUP BY ALL
)
SELECT
    j.mention_id, j.brand, j.product, m.source_kind, m.source_id, m.published_at, m.published_day,
    m.author, m.title, m.text, m.url, m.rating,
    CASE WHEN m.rating < 0.2 THEN 'negative' ELSE j.text_sentiment_label END AS sentiment_label,
    CASE WHEN m.rating < 0.2 THEN least(coalesce(j.text_sentiment_score, -1), -0.5) ELSE j.text_sentiment_score END AS sentiment_score,
    j.moment, j.stage
FROM judged j
JOIN mentions m USING (mention_id);

-- One row per (mention, brand): the brand as a whole.
CREATE OR REPLACE VIEW v_brand_mentions AS
SELECT * EXCLUDE (product) FROM v_target_mentions WHERE product = '*';

-- The ZMOT picture per brand and day: how much research there is, what a researcher reading about
-- the brand over the last 30 days finds, and the brand's share of voice against its configured
-- competitors (only competitors that are themselves watched brands are counted).
CREATE OR REPLACE VIEW v_zmot_picture AS
WITH base AS (
    SELECT day, brand, mentions, negative, positive, zmot, zmot_negative, lzmot, lzmot_negative, umot, umot_negative, avg_sentiment
    FROM daily_signals WHERE product = '*' AND source_kind = '*'
),
competition AS (
    SELECT b.day, b.brand, coalesce(sum(c.mentions), 0) AS competitor_mentions
    FROM base b
    JOIN brands cat ON cat.brand = b.brand
    LEFT JOIN base c ON c.day = b.day AND list_contains(cat.competitors, c.brand)
    GROUP BY ALL
)
SELECT
    b.day, b.brand,
    b.zmot AS research_mentions,
    b.zmot_negative AS research_negative,
    b.zmot_negative / nullif(b.zmot, 0) AS research_negative_share,
    b.lzmot AS lzmot_mentions,
    b.lzmot_negative / nullif(b.lzmot, 0) AS lzmot_negative_share,
    b.umot AS umot_mentions,
    b.umot_negative / nullif(b.umot, 0) AS umot_negative_share,
    b.mentions,
    sum(b.positive) OVER w30 / nullif(sum(b.mentions) OVER w30, 0) AS seen_positive_share_30d,
    sum(b.negative) OVER w30 / nullif(sum(b.mentions) OVER w30, 0) AS seen_negative_share_30d,
    sum(b.lzmot) OVER w30 AS lzmot_stories_30d,
    b.mentions / nullif(b.mentions + coalesce(c.competitor_mentions, 0), 0) AS share_of_voice,
    coalesce(c.competitor_mentions, 0) AS competitor_mentions
FROM base b
LEFT JOIN competition c USING (day, brand)
WINDOW w30 AS (PARTITION BY b.brand ORDER BY b.day RANGE BETWEEN INTERVAL 29 DAY PRECEDING AND CURRENT ROW);

-- Normann's balance per brand and month: good moments (positive or advocacy) against bad ones
-- (negative or LZMOT). He held that about twelve good moments undo one bad; balance >= 12 is healthy.
CREATE OR REPLACE VIEW v_normann_balance AS
SELECT
    brand,
    date_trunc('month', published_day)::DATE AS month,
    count(*) FILTER (WHERE sentiment_label = 'positive' OR moment = 'umot') AS good_moments,
    count(*) FILTER (WHERE sentiment_label = 'negative' OR moment = 'lzmot') AS bad_moments,
    round(count(*) FILTER (WHERE sentiment_label = 'positive' OR moment = 'umot')
          / nullif(count(*) FILTER (WHERE sentiment_label = 'negative' OR moment = 'lzmot'), 0), 2) AS balance,
    12 AS normann_target
FROM v_brand_mentions
GROUP BY ALL;

-- People with three or more negative experiences with a brand (negative, or LZMOT), the point
-- research says customers leave. Authors are pseudonymised: a stable key, never the name.
CREATE OR REPLACE VIEW v_repeat_negative_authors AS
SELECT
    'author_' || left(sha256(source_kind || ':' || author), 12) AS author_key,
    brand,
    source_kind,
    count(*) AS negative_mentions,
    count(DISTINCT published_day) AS negative_days,
    min(published_day) AS first_day,
    max(published_day) AS last_day,
    list(mention_id ORDER BY published_at) AS mention_ids
FROM v_brand_mentions
WHERE author IS NOT NULL AND (sentiment_label = 'negative' OR moment = 'lzmot')
GROUP BY ALL
HAVING count(*) >= 3;
