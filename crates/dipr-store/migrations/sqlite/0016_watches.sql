-- Watches: an account follows a registration, a holder or a search, and each public log entry that matches
-- one becomes an alert (shown in the portal), with its deliveries by e-mail or signed webhook. Nothing here
-- is deleted: a watch is stopped, an endpoint disabled, a delivery ends delivered, failed or skipped.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id),
    url             TEXT NOT NULL,
    -- The signing key (`whsec_…`): kept to sign, shown to its owner once.
    secret          TEXT NOT NULL,
    description     TEXT NOT NULL,
    -- Failed attempts in a row; reset by a success.
    failures        BIGINT NOT NULL DEFAULT 0,
    disabled_at     BIGINT,
    -- `failing` (disabled automatically) or `owner`.
    disabled_reason TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_user ON webhook_endpoints (user_id, created_at);

CREATE TABLE watches (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    -- `registration` (target: the application id), `holder` (a credit code) or `search` (the query).
    kind        TEXT NOT NULL,
    target      TEXT NOT NULL,
    label       TEXT NOT NULL,
    email       TEXT,
    -- `none`, `immediate` or `daily`.
    email_mode  TEXT NOT NULL,
    endpoint_id TEXT REFERENCES webhook_endpoints(id),
    -- The first log index the watch sees: it is not alerted about what happened before it was made.
    from_index  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    stopped_at  BIGINT
);
CREATE INDEX watches_user ON watches (user_id, created_at);
CREATE INDEX watches_live ON watches (stopped_at);

-- How far the public log has been matched against the watches: advanced by compare-and-set in the
-- transaction that writes the alerts, so several server processes produce each alert once.
CREATE TABLE watch_cursor (
    name     TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);
INSERT INTO watch_cursor (name, position) SELECT 'watches', COUNT(*) FROM log_entries;

CREATE TABLE watch_alerts (
    id                  TEXT PRIMARY KEY,
    watch_id            TEXT NOT NULL REFERENCES watches(id),
    user_id             TEXT NOT NULL,
    log_index           BIGINT NOT NULL,
    application_id      TEXT NOT NULL,
    kind                TEXT NOT NULL,
    at                  BIGINT NOT NULL,
    product_name        TEXT NOT NULL,
    registration_number TEXT,
    created_at          BIGINT NOT NULL,
    UNIQUE (watch_id, log_index)
);
CREATE INDEX watch_alerts_user ON watch_alerts (user_id, log_index);

-- One alert's delivery by one channel; leased by the process sending it.
CREATE TABLE watch_deliveries (
    id          TEXT PRIMARY KEY,
    alert_id    TEXT NOT NULL REFERENCES watch_alerts(id),
    user_id     TEXT NOT NULL,
    -- `email` or `webhook`.
    channel     TEXT NOT NULL,
    endpoint_id TEXT REFERENCES webhook_endpoints(id),
    email       TEXT,
    digest      BOOLEAN NOT NULL,
    -- `pending`, `delivered` or `failed`.
    state       TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    next_at     BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    created_at  BIGINT NOT NULL,
    done_at     BIGINT
);
CREATE INDEX watch_deliveries_due ON watch_deliveries (state, next_at);

-- Every attempt at a delivery: the endpoint's event log.
CREATE TABLE watch_attempts (
    delivery_id TEXT NOT NULL REFERENCES watch_deliveries(id),
    attempt     BIGINT NOT NULL,
    endpoint_id TEXT,
    at          BIGINT NOT NULL,
    status      BIGINT,
    error       TEXT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
CREATE INDEX watch_attempts_endpoint ON watch_attempts (endpoint_id, at);
