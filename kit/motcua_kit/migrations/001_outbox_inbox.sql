-- The kit's own tables, present in every service database.

CREATE TABLE outbox_events (
    seq          bigserial PRIMARY KEY,
    id           uuid NOT NULL UNIQUE,
    type         text NOT NULL,
    subject      text NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
-- The relay only ever looks for what is not yet published.
CREATE INDEX outbox_events_unpublished ON outbox_events (seq) WHERE published_at IS NULL;

-- One row per event a consumer has handled: the primary key is what makes handling idempotent.
CREATE TABLE inbox_events (
    consumer    text NOT NULL,
    event_id    text NOT NULL,
    handled_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
