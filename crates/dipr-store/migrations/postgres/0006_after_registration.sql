-- After registration (keep in step with ../sqlite/0006_after_registration.sql).
-- Columns derived from the application document for statistics and encumbrance search; a store
-- fills them for rows written before this migration (derived_v below the current version).
ALTER TABLE applications ADD COLUMN holder_id TEXT;
ALTER TABLE applications ADD COLUMN applicant_kind TEXT;
ALTER TABLE applications ADD COLUMN ownership TEXT;
ALTER TABLE applications ADD COLUMN high_tech BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE applications ADD COLUMN specialised BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE applications ADD COLUMN university BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE applications ADD COLUMN submitted_at BIGINT;
ALTER TABLE applications ADD COLUMN submitted_month TEXT;
ALTER TABLE applications ADD COLUMN outcome TEXT;
ALTER TABLE applications ADD COLUMN decided_at BIGINT;
ALTER TABLE applications ADD COLUMN decided_month TEXT;
ALTER TABLE applications ADD COLUMN derived_v BIGINT NOT NULL DEFAULT 0;
CREATE INDEX applications_submitted ON applications(submitted_at);
CREATE INDEX applications_decided ON applications(decided_at, outcome);
CREATE INDEX applications_holder ON applications(holder_id);

-- Money earned with registered products (amounts in fen). The product's type, industry and holder
-- kind are copied in so that statistics read one table.
CREATE TABLE transactions (
    id              TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL REFERENCES applications(id),
    kind            TEXT NOT NULL,
    amount_fen      BIGINT NOT NULL,
    occurred_on     TEXT NOT NULL,
    counterparty    TEXT NOT NULL,
    licence_id      TEXT,
    note            TEXT NOT NULL,
    object_type     TEXT,
    industry        TEXT NOT NULL,
    holder_kind     TEXT NOT NULL,
    event_id        BIGINT NOT NULL REFERENCES events(id),
    recorded_at     BIGINT NOT NULL
);
CREATE INDEX transactions_stats ON transactions(occurred_on, kind, amount_fen, application_id);
CREATE INDEX transactions_application ON transactions(application_id, occurred_on);

-- Pledges as registered (a projection of the application document, for statistics).
CREATE TABLE pledges (
    id              TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL REFERENCES applications(id),
    pledgee_id      TEXT NOT NULL,
    debtor_id       TEXT NOT NULL,
    status          TEXT NOT NULL,
    secured_fen     BIGINT NOT NULL,
    registered_at   BIGINT,
    closed_at       BIGINT,
    object_type     TEXT,
    industry        TEXT NOT NULL,
    holder_kind     TEXT NOT NULL
);
CREATE INDEX pledges_registered ON pledges(registered_at);
CREATE INDEX pledges_application ON pledges(application_id);

-- Derivations named by published filings: parent registration number -> child application.
CREATE TABLE lineage (
    parent_number   TEXT NOT NULL,
    child_id        TEXT NOT NULL REFERENCES applications(id),
    licence_id      TEXT,
    PRIMARY KEY (parent_number, child_id)
);

-- Certificates are issued again when their statement changes (transfer, new data version, renewal):
-- keep every revision.
CREATE TABLE certificate_revisions (
    application_id       TEXT NOT NULL REFERENCES applications(id),
    revision             BIGINT NOT NULL,
    registration_number  TEXT NOT NULL,
    log_index            BIGINT NOT NULL,
    doc                  TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    PRIMARY KEY (application_id, revision)
);
INSERT INTO certificate_revisions (application_id, revision, registration_number, log_index, doc, created_at)
    SELECT application_id, 1, registration_number, log_index, doc, created_at FROM certificates;
DROP TABLE certificates;
