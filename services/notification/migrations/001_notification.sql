-- notification's own tables. The kit's (outbox_events, inbox_events, timers) are applied first.

-- What notification knows of a dossier: how to reach its citizen, and which units may read its log.
CREATE TABLE dossiers (
    code            text PRIMARY KEY,
    unit            text,
    applicant       jsonb,                    -- name, email, phone, language (from dossier.received)
    procedure_name  jsonb,                    -- {"vi": ..., "en": ...}
    return_method   text,
    lookup_url      text,
    units           text[] NOT NULL DEFAULT '{}',  -- receiving unit and every agency that held a step
    received_at     timestamptz
);

-- Systems that subscribed to events over HTTP.
CREATE TABLE webhook_subscribers (
    id                    uuid PRIMARY KEY,
    name                  text NOT NULL,
    url                   text NOT NULL,
    event_types           text[] NOT NULL,
    secret                text NOT NULL,      -- needed in clear to sign each delivery
    state                 text NOT NULL DEFAULT 'active',  -- active | suspended | deleted
    consecutive_failures  int  NOT NULL DEFAULT 0,
    last_error            text,
    suspended_at          timestamptz,
    created_by            text,
    created_at            timestamptz NOT NULL DEFAULT now()
);

-- One row per event x recipient x channel: the idempotence key is the unique constraint, written
-- in the transaction that consumes the event, before anything is sent.
CREATE TABLE deliveries (
    id               uuid PRIMARY KEY,
    event_id         text NOT NULL,
    event_type       text NOT NULL,
    dossier_code     text,
    message          text NOT NULL,           -- template name, or the event type for webhooks
    channel          text NOT NULL,           -- email | sms | webhook
    audience         text NOT NULL,           -- citizen | officer | supervisor | operator | subscriber
    recipient        text NOT NULL,           -- address, number, or subscriber id
    language         text,
    subject          text,
    body             text NOT NULL,           -- exactly what is (or was) sent
    urgent           boolean NOT NULL DEFAULT false,
    segments         int,
    encoding         text,
    state            text NOT NULL DEFAULT 'pending',
        -- pending | sending | sent | delivered | failed_temporary | failed_permanent | held
    attempts         int  NOT NULL DEFAULT 0,
    schedule_from    int  NOT NULL DEFAULT 0,  -- attempts made before the retry schedule (re)started
    next_attempt_at  timestamptz NOT NULL,
    lease_until      timestamptz,
    deferred_reason  text,                    -- quiet_hours | rate_limit | ...
    failure          text,                    -- permanent | exhausted (when failed_permanent)
    last_error       text,
    provider_id      text,
    created_at       timestamptz NOT NULL,
    sent_at          timestamptz,
    delivered_at     timestamptz,
    failed_at        timestamptz,
    updated_at       timestamptz NOT NULL,
    UNIQUE (event_id, recipient, channel)
);
CREATE INDEX deliveries_due ON deliveries (channel, next_attempt_at)
    WHERE state IN ('pending', 'failed_temporary', 'sending');
CREATE INDEX deliveries_dossier ON deliveries (dossier_code, created_at);
CREATE INDEX deliveries_provider ON deliveries (provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX deliveries_subscriber ON deliveries (recipient, state) WHERE channel = 'webhook';

-- Every attempt, for the log and for the rate limit (attempts started in the last minute).
CREATE TABLE delivery_attempts (
    delivery_id  uuid NOT NULL REFERENCES deliveries (id),
    attempt      int  NOT NULL,
    channel      text NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    outcome      text,                        -- sent | delivered | temporary | permanent
    detail       text,
    PRIMARY KEY (delivery_id, attempt)
);
CREATE INDEX delivery_attempts_recent ON delivery_attempts (channel, started_at);
