-- After registration (keep in step with ../postgres/0006_after_registration.sql).

-- One narrow row per application with what the statistics break down by; a projection of the
-- application document, kept in step by the store (and filled for older rows when it opens).
CREATE TABLE filings (
    application_id   TEXT PRIMARY KEY REFERENCES applications(id),
    applicant_id     TEXT NOT NULL,
    applicant_kind   TEXT NOT NULL,
    ownership        TEXT,
    high_tech        BOOLEAN NOT NULL,
    specialised      BOOLEAN NOT NULL,
    university       BOOLEAN NOT NULL,
    object_type      TEXT,
    industry         TEXT NOT NULL,
    submitted_at     BIGINT,
    submitted_month  TEXT,
    outcome          TEXT,
    decided_at       BIGINT,
    decided_month    TEXT
);
CREATE INDEX filings_submitted ON filings(submitted_at);
CREATE INDEX filings_decided ON filings(decided_at);
CREATE INDEX filings_applicant ON filings(applicant_id, submitted_at);

-- Money earned with registered products (amounts in fen).
CREATE TABLE transactions (
    id              TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL REFERENCES applications(id),
    kind            TEXT NOT NULL,
    amount_fen      BIGINT NOT NULL,
    occurred_on     TEXT NOT NULL,
    counterparty    TEXT NOT NULL,
    licence_id      TEXT,
    note            TEXT NOT NULL,
    event_id        BIGINT NOT NULL REFERENCES events(id),
    recorded_at     BIGINT NOT NULL
);
CREATE INDEX transactions_application ON transactions(application_id, occurred_on);

-- Transactions summed per day and breakdown, updated with every insert: the dashboard's sums read
-- this instead of the transactions.
CREATE TABLE value_daily (
    day             TEXT NOT NULL,
    kind            TEXT NOT NULL,
    object_type     TEXT NOT NULL,
    industry        TEXT NOT NULL,
    applicant_kind  TEXT NOT NULL,
    transactions    BIGINT NOT NULL,
    amount_fen      BIGINT NOT NULL,
    PRIMARY KEY (day, kind, object_type, industry, applicant_kind)
);

-- Which products earned money, and between which dates: counting earning products without a period
-- reads only this; with one, only products whose dates straddle an edge of it are probed.
CREATE TABLE product_spans (
    application_id  TEXT PRIMARY KEY REFERENCES applications(id),
    first_on        TEXT NOT NULL,
    last_on         TEXT NOT NULL,
    object_type     TEXT NOT NULL,
    industry        TEXT NOT NULL,
    applicant_kind  TEXT NOT NULL
);

-- The same per kind of money (for the per-kind product counts of the whole record).
CREATE TABLE product_kinds (
    application_id  TEXT NOT NULL REFERENCES applications(id),
    kind            TEXT NOT NULL,
    first_on        TEXT NOT NULL,
    last_on         TEXT NOT NULL,
    object_type     TEXT NOT NULL,
    industry        TEXT NOT NULL,
    applicant_kind  TEXT NOT NULL,
    PRIMARY KEY (application_id, kind)
);

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
    applicant_kind  TEXT NOT NULL
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
