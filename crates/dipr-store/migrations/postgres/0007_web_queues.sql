-- Registered products with an objection after grant still to decide (the examiners' dispute queue),
-- a bank's pledges (its pledge book), and the current holder (whose "my registry" lists the product after a
-- transfer or an enforced pledge).
ALTER TABLE applications ADD COLUMN open_dispute BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE applications SET open_dispute = EXISTS (
    SELECT 1 FROM jsonb_array_elements(COALESCE(doc::jsonb -> 'holding' -> 'disputes', '[]'::jsonb)) AS d
    WHERE d -> 'decision' IS NULL OR d -> 'decision' = 'null'::jsonb
);
CREATE INDEX applications_open_dispute ON applications(open_dispute) WHERE open_dispute;
CREATE INDEX pledges_pledgee ON pledges(pledgee_id);
ALTER TABLE applications ADD COLUMN holder_id TEXT;
UPDATE applications SET holder_id = COALESCE(doc::jsonb -> 'holding' -> 'holder' ->> 'id', applicant_id);
CREATE INDEX applications_holder ON applications(holder_id);
