-- Signing secrets are stored encrypted (Fernet with WEBHOOK_SECRET_KEY, adapters/secrets.py).
-- SQL cannot encrypt with the service's key: rows from before this migration keep their secret in
-- `secret_clear` until notification encrypts them (it does so at start and every hour, then
-- clears the column). A later migration drops `secret_clear`.
ALTER TABLE webhook_subscribers RENAME COLUMN secret TO secret_clear;
ALTER TABLE webhook_subscribers ALTER COLUMN secret_clear DROP NOT NULL;
ALTER TABLE webhook_subscribers ADD COLUMN secret_encrypted text;
ALTER TABLE webhook_subscribers ADD CONSTRAINT webhook_subscribers_secret
    CHECK (secret_encrypted IS NOT NULL OR secret_clear IS NOT NULL);
