-- dipr core schema (SQLite). Keep in step with ../postgres/0001_core.sql: a test compares the two.
-- Timestamps are milliseconds since the Unix epoch (UTC). Nothing is ever deleted.

CREATE TABLE parties (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    id_number   TEXT NOT NULL UNIQUE,
    doc         TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    party_id      TEXT REFERENCES parties(id),
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id),
    token_hash  TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE applications (
    id                  TEXT PRIMARY KEY,
    version             BIGINT NOT NULL,
    state               TEXT NOT NULL,
    applicant_id        TEXT NOT NULL REFERENCES parties(id),
    filed_by            TEXT NOT NULL REFERENCES users(id),
    agent_id            TEXT REFERENCES parties(id),
    product_name        TEXT NOT NULL,
    product_key         TEXT NOT NULL,
    holder_name         TEXT NOT NULL,
    search_text         TEXT NOT NULL,
    object_type         TEXT,
    industry            TEXT NOT NULL,
    is_public           BOOLEAN NOT NULL,
    deadline_at         BIGINT,
    registration_number TEXT UNIQUE,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    withdrawn_at        BIGINT,
    doc                 TEXT NOT NULL
);
CREATE INDEX applications_state ON applications(state, updated_at);
CREATE INDEX applications_applicant ON applications(applicant_id, product_key);
CREATE INDEX applications_filed_by ON applications(filed_by);
CREATE INDEX applications_deadline ON applications(deadline_at);
CREATE INDEX applications_public ON applications(is_public, updated_at);

CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            BIGINT NOT NULL,
    actor_id      TEXT,
    actor_name    TEXT NOT NULL,
    actor_role    TEXT NOT NULL,
    subject_type  TEXT NOT NULL,
    subject_id    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    from_state    TEXT,
    to_state      TEXT,
    reasons       TEXT NOT NULL,
    payload       TEXT NOT NULL
);
CREATE INDEX events_subject ON events(subject_type, subject_id, id);

CREATE TABLE sequences (
    name   TEXT PRIMARY KEY,
    value  BIGINT NOT NULL
);

CREATE TABLE industries (
    code      TEXT PRIMARY KEY,
    name_zh   TEXT NOT NULL,
    name_en   TEXT NOT NULL,
    active    BOOLEAN NOT NULL,
    position  BIGINT NOT NULL
);

CREATE TABLE calendar_days (
    day   TEXT PRIMARY KEY,
    kind  TEXT NOT NULL,
    note  TEXT NOT NULL
);

CREATE TABLE settings (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
