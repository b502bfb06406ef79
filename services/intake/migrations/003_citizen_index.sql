-- A signed-in citizen's own dossiers are found by the personal identification number on them.
CREATE INDEX IF NOT EXISTS dossiers_applicant_citizen_id
    ON dossiers ((applicant->>'citizen_id'), received_at DESC);
