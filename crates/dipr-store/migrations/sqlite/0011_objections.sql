-- Objections filed during the public notice and disputes filed after grant, one row each (keep in step with
-- ../postgres/0011_objections.sql). Anyone may file them, so they are kept out of the application's documents:
-- `applications.doc` holds the application with both lists empty and `public_doc` carries neither; the store
-- joins the rows back in order when it reads an application. Documents written before this table existed are
-- moved into it when the store opens.
CREATE TABLE objections (
    id              TEXT PRIMARY KEY,
    application_id  TEXT NOT NULL REFERENCES applications(id),
    -- 'objection' (during the notice) or 'dispute' (after grant).
    kind            TEXT NOT NULL,
    -- Order filed: the index in the application's list of that kind.
    position        BIGINT NOT NULL,
    decided         BOOLEAN NOT NULL,
    filed_at        BIGINT NOT NULL,
    -- The Objection or Dispute as JSON.
    doc             TEXT NOT NULL
);
CREATE INDEX objections_application ON objections(application_id, kind, position);
