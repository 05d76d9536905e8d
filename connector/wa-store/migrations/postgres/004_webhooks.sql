-- Webhook delivery from durable storage: per-account receivers, the planner's
-- cursor over the event log, and one row per (event, receiver URL).

CREATE TABLE webhook_settings (
    account_id TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    urls       TEXT NOT NULL,
    events     TEXT NOT NULL,
    headers    TEXT NOT NULL,
    secret     TEXT,
    updated_at BIGINT NOT NULL
);

-- Events logged before this migration are not delivered: only what happens
-- once webhooks exist.
CREATE TABLE webhook_cursor (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO webhook_cursor (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM events;

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    event_seq       BIGINT NOT NULL REFERENCES events(seq) ON DELETE CASCADE,
    account_id      TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    headers         TEXT NOT NULL,
    secret          TEXT,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_status     BIGINT,
    last_error      TEXT,
    next_attempt_at BIGINT,
    retry_from      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_by_account ON webhook_deliveries (account_id, created_at);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_seq);
