-- Commands to a named exchange (e.g. tasks for an agency's own system) share the outbox;
-- NULL exchange means the service's own events exchange, routed by event type.
ALTER TABLE outbox_events ADD COLUMN exchange text, ADD COLUMN routing_key text;

-- Timers in the database: they survive restarts, and `FOR UPDATE SKIP LOCKED` plus `fired_at`
-- written in the firing transaction make each one fire once across replicas.
CREATE TABLE timers (
    id        bigserial PRIMARY KEY,
    kind      text NOT NULL,
    key       text NOT NULL,
    due_at    timestamptz NOT NULL,
    payload   jsonb NOT NULL DEFAULT '{}',
    fired_at  timestamptz,
    attempts  int NOT NULL DEFAULT 0,      -- failed firings so far
    last_error text,
    UNIQUE (kind, key)
);
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL;
