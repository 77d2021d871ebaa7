-- Fingerprint manifests filed with applications, and the inverted index over their discovery sketches
-- (hash → application). Nothing is deleted: a replaced manifest stays, and queries use the manifest the
-- application currently names.
CREATE TABLE manifests (
    application_id   TEXT NOT NULL REFERENCES applications(id),
    manifest_sha256  TEXT NOT NULL,
    doc              TEXT NOT NULL,
    sketch_size      BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (application_id, manifest_sha256)
);

CREATE TABLE sketch_index (
    hash             BIGINT NOT NULL,
    application_id   TEXT NOT NULL,
    manifest_sha256  TEXT NOT NULL,
    PRIMARY KEY (hash, application_id, manifest_sha256)
);
CREATE INDEX sketch_index_application ON sketch_index(application_id);
