-- What a tag rule sees of each mention in the temp table tag_scope(mention_id): the fields
-- nlp.query_language.MentionFields names, in its order.
SELECT m.mention_id, m.published_day,
       m.text, m.title, m.source_kind, m.source_id, m.url, m.metadata->>'site' AS site, m.author,
       n.language, m.metadata->>'subreddit' AS subreddit, n.moment, n.sentiment_label
FROM mentions m
LEFT JOIN (SELECT * FROM mention_nlp WHERE mention_id IN (SELECT mention_id FROM tag_scope)) n USING (mention_id)
WHERE m.mention_id IN (SELECT mention_id FROM tag_scope)
