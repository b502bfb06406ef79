-- Failed public lookups are also counted per dossier code (the code tried, known or not), so that
-- many clients cannot share out the guesses of one dossier's PIN; per client as before.
ALTER TABLE lookup_failures ADD COLUMN dossier_code text;
CREATE INDEX lookup_failures_dossier_at ON lookup_failures (dossier_code, at);
