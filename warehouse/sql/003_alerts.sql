-- Alerts raised by spike detection: unique per brand / product / source kind / metric / window,
-- so reruns and backfills never duplicate one, and `notified_at` is set only once the mail
-- server accepted the email (or it was written to the outbox).

CREATE TABLE alerts (
    alert_id         VARCHAR PRIMARY KEY,      -- hash of brand, product, source_kind, metric, window_start
    brand            VARCHAR NOT NULL,
    product          VARCHAR NOT NULL,         -- '*' for the brand as a whole
    source_kind      VARCHAR NOT NULL,         -- '*' for all sources
    metric           VARCHAR NOT NULL,         -- negative_mentions, ...
    window_start     TIMESTAMP NOT NULL,       -- UTC
    window_end       TIMESTAMP NOT NULL,       -- UTC, exclusive
    observed         DOUBLE NOT NULL,
    expected         DOUBLE NOT NULL,
    ratio            DOUBLE NOT NULL,          -- observed / expected
    severity         DOUBLE NOT NULL,          -- higher = more unusual, comparable across series
    reason           VARCHAR NOT NULL,         -- one sentence: why it fired
    detector_version VARCHAR NOT NULL,
    created_run      VARCHAR NOT NULL,
    notified_at      TIMESTAMP,                -- UTC; NULL until delivered
    message_id       VARCHAR,                  -- the email's Message-ID once delivered
    delivery         VARCHAR                   -- 'smtp:host' or 'outbox:/path/file.eml'
);
