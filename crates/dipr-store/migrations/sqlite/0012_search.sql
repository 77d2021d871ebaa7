-- Full-text search (src/search.rs): each application's terms in an FTS5 table whose rowid is the
-- application's `seq`. `seq` is an explicit column because VACUUM may renumber implicit rowids.
ALTER TABLE applications ADD COLUMN seq BIGINT;
UPDATE applications SET seq = rowid;
CREATE UNIQUE INDEX applications_seq ON applications(seq);
INSERT INTO sequences (name, value) SELECT 'application_rows', COALESCE(MAX(seq), 0) FROM applications WHERE TRUE
    ON CONFLICT (name) DO NOTHING;

CREATE VIRTUAL TABLE search_index USING fts5(name, holder, applicant, ids, body, flags,
    tokenize = 'unicode61 remove_diacritics 0');
-- bm25 weights per column, in the order above: names and identifiers first, the summary last; the
-- flags (published, state, type, industry; see src/search.rs) only filter.
INSERT INTO search_index (search_index, rank) VALUES ('rank', 'bm25(10.0, 5.0, 2.0, 10.0, 1.0, 0.0)');

-- Public lists page by (updated_at, id) from where the last page ended.
DROP INDEX applications_public;
CREATE INDEX applications_public ON applications(is_public, updated_at, id);

-- The store fills the index at the next start (search_text is recomputed with it).
INSERT INTO settings (name, value) VALUES ('search_index', 'rebuild')
    ON CONFLICT (name) DO UPDATE SET value = 'rebuild';
