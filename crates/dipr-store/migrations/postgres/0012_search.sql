-- Full-text search (src/search.rs): each application's terms as a weighted tsvector, keyed by the
-- application's `seq` (the same key SQLite's FTS5 table uses as its rowid).
ALTER TABLE applications ADD COLUMN seq BIGINT;
UPDATE applications SET seq = n.seq
    FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS seq FROM applications) n
    WHERE applications.id = n.id;
CREATE UNIQUE INDEX applications_seq ON applications(seq);
INSERT INTO sequences (name, value) SELECT 'application_rows', COALESCE(MAX(seq), 0) FROM applications
    ON CONFLICT (name) DO NOTHING;

CREATE TABLE search_index (
    seq    BIGINT PRIMARY KEY,
    terms  tsvector NOT NULL
);
CREATE INDEX search_index_terms ON search_index USING GIN (terms);

-- Public lists page by (updated_at, id) from where the last page ended.
DROP INDEX applications_public;
CREATE INDEX applications_public ON applications(is_public, updated_at, id);

-- The store fills the index at the next start (search_text is recomputed with it).
INSERT INTO settings (name, value) VALUES ('search_index', 'rebuild')
    ON CONFLICT (name) DO UPDATE SET value = 'rebuild';
