-- Registered products with an objection after grant still to decide (the examiners' dispute queue),
-- and a bank's pledges (its pledge book).
ALTER TABLE applications ADD COLUMN open_dispute BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE applications SET open_dispute = EXISTS (
    SELECT 1 FROM json_each(doc, '$.holding.disputes') WHERE json_extract(value, '$.decision') IS NULL
);
CREATE INDEX applications_open_dispute ON applications(open_dispute) WHERE open_dispute;
CREATE INDEX pledges_pledgee ON pledges(pledgee_id);
