-- The public projection of a filing (PublicRecord as JSON), written with every change so public
-- search serves it without decoding the full document. NULL while the filing is not public.
ALTER TABLE applications ADD COLUMN public_doc TEXT;
