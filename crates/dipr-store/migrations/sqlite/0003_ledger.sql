-- The public ledger (RFC 9162 log). Keep in step with ../postgres/0003_ledger.sql.
-- log_entries: entry idx is the leaf index; each records one audit event.
-- log_hashes: stored subtree roots (level, index), about two per entry.
-- log_checkpoints: every signed checkpoint, by tree size.
-- certificates: the certificate issued on registration.
CREATE TABLE log_entries (
    idx       BIGINT PRIMARY KEY,
    event_id  BIGINT NOT NULL UNIQUE REFERENCES events(id),
    entry     BLOB NOT NULL
);

CREATE TABLE log_hashes (
    level  BIGINT NOT NULL,
    idx    BIGINT NOT NULL,
    hash   BLOB NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE log_checkpoints (
    size        BIGINT PRIMARY KEY,
    note        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE certificates (
    application_id       TEXT PRIMARY KEY REFERENCES applications(id),
    registration_number  TEXT NOT NULL UNIQUE,
    log_index            BIGINT NOT NULL,
    doc                  TEXT NOT NULL,
    created_at           BIGINT NOT NULL
);
