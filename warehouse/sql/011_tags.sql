-- Tags from saved rules (tags.yaml, written in nlp/query_language.py's language; docs/tags.md).
-- warehouse/tags.py tags a load's new and edited mentions in the load's transaction, and `zmot retag`
-- re-applies the current rules to every mention. No index on mention_tags (as on mentions, 006): the
-- writers keep (mention_id, tag) unique by replacing a mention's tags whole.
-- IF NOT EXISTS: a file whose version rows were rolled back applies this again.
CREATE TABLE IF NOT EXISTS mention_tags (
    mention_id       VARCHAR NOT NULL,
    tag              VARCHAR NOT NULL,         -- the rule's name in tags.yaml
    rule_hash        VARCHAR NOT NULL,         -- what the rule meant when it tagged (nlp.query_language.rule_hash)
    tagged_at        TIMESTAMP NOT NULL,       -- UTC; a retag that finds the same tag keeps its time
    published_day    DATE NOT NULL             -- the mention's day, so counts per day need not read mentions
);

CREATE TABLE IF NOT EXISTS daily_tag_signals (
    day              DATE NOT NULL,            -- UTC day
    brand            VARCHAR NOT NULL,         -- a brand the tagged mention is about, or '*' for every tagged mention
    tag              VARCHAR NOT NULL,
    mentions         INTEGER NOT NULL,
    negative         INTEGER NOT NULL,         -- toward the brand (the mention's own sentiment for '*')
    positive         INTEGER NOT NULL,
    lzmot            INTEGER NOT NULL,
    PRIMARY KEY (day, brand, tag)
);
