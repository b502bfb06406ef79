-- The audit trail (motcua_kit.audit): hash-chained records, append-only, in every service database.

-- One row per recorded action. A chain is a dossier's code (or `unit:<code>`, `reports`, ...);
-- `hash` is SHA-256 over the canonical encoding of the other fields, `prev_hash` included.
CREATE TABLE audit_records (
    id         bigserial PRIMARY KEY,
    chain      text NOT NULL,
    seq        bigint NOT NULL CHECK (seq > 0),
    at         timestamptz NOT NULL,
    actor      jsonb NOT NULL,
    origin     jsonb NOT NULL,
    action     text NOT NULL,
    details    jsonb NOT NULL,
    prev_hash  text NOT NULL,
    hash       text NOT NULL,
    UNIQUE (chain, seq)
);

-- Each chain's last record, kept with the append: what changed since the last checkpoint, and
-- a second witness of the chain's length (a deleted last record leaves the head behind).
-- Not evidence itself: it may be updated; the records and the checkpoints may not.
CREATE TABLE audit_heads (
    chain            text PRIMARY KEY,
    seq              bigint NOT NULL,
    hash             text NOT NULL,
    checkpointed_seq bigint NOT NULL DEFAULT 0
);
CREATE INDEX audit_heads_unchecked ON audit_heads (chain) WHERE seq > checkpointed_seq;

-- Checkpoints: the heads of the chains changed since the previous one, chained themselves and
-- published as `audit.checkpoint` events so that other systems hold the evidence too.
CREATE TABLE audit_checkpoints (
    seq        bigint PRIMARY KEY CHECK (seq > 0),
    at         timestamptz NOT NULL,
    heads      jsonb NOT NULL,
    prev_hash  text NOT NULL,
    hash       text NOT NULL
);
-- A dossier's audit view finds the checkpoints that hold its chain (`heads @> '[{"chain": ...}]'`).
CREATE INDEX audit_checkpoints_heads ON audit_checkpoints USING gin (heads jsonb_path_ops);

-- Append-only, enforced by the database. ENABLE ALWAYS: the triggers fire even under
-- `session_replication_role = replica`, so a superuser (the services connect as one locally)
-- has to disable them by name, which leaves the chain and the checkpoints to tell.
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
ALTER TABLE audit_records ENABLE ALWAYS TRIGGER audit_records_append_only;
ALTER TABLE audit_records ENABLE ALWAYS TRIGGER audit_records_no_truncate;
ALTER TABLE audit_checkpoints ENABLE ALWAYS TRIGGER audit_checkpoints_append_only;
ALTER TABLE audit_checkpoints ENABLE ALWAYS TRIGGER audit_checkpoints_no_truncate;

-- Roles other than the owner get no way to change them either (docs/security.md: in production
-- the services connect as a role granted SELECT and INSERT only on these tables).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_records, audit_checkpoints FROM PUBLIC;
