-- What was delivered where, once: one row per (subject, destination), written only after the
-- destination accepted it, so a rerun or a retried task never delivers it twice and a failed
-- delivery (no row) is tried again by the next run. Subjects: an alert_id (webhooks), or
-- 'digest:<brand>:<period>' (digests). Destinations: 'webhook:<name>', 'email'.
-- (Alert emails keep their own record in alerts.notified_at, as before.)
CREATE TABLE IF NOT EXISTS deliveries (
    subject      VARCHAR NOT NULL,
    destination  VARCHAR NOT NULL,
    delivered_at TIMESTAMP NOT NULL,           -- UTC
    detail       VARCHAR,                      -- the HTTP status, or where the email went ('smtp:host:port', 'outbox:/path')
    PRIMARY KEY (subject, destination)
);
