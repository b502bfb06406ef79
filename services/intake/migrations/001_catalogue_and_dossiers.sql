-- Intake's own tables. The kit's (outbox_events, inbox_events) are applied before these.

-- Each (code, version) is immutable: a new rule is a new version with its own valid_from.
CREATE TABLE procedures (
    code        text NOT NULL,
    version     int  NOT NULL,
    valid_from  date NOT NULL,
    entry       jsonb NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, version)
);

-- The running number of the dossier code, per receiving unit and day.
CREATE TABLE dossier_counters (
    unit  text NOT NULL,
    day   date NOT NULL,
    last  int  NOT NULL,
    PRIMARY KEY (unit, day)
);

CREATE TABLE dossiers (
    code                text PRIMARY KEY,
    unit                text NOT NULL,
    procedure_code      text NOT NULL,
    procedure_version   int  NOT NULL,
    status              text NOT NULL,
    channel             text NOT NULL,
    return_method       text NOT NULL,
    applicant           jsonb NOT NULL,
    documents           jsonb NOT NULL,
    received_at         timestamptz NOT NULL,
    due_at              timestamptz NOT NULL,
    paused_at           timestamptz,
    remaining_seconds   double precision,
    resume_status       text,
    supplement_requests int NOT NULL DEFAULT 0,
    result_at           timestamptz,
    returned_at         timestamptz,
    current_step        jsonb,
    pin_hash            text NOT NULL,
    received_by         jsonb NOT NULL,
    FOREIGN KEY (procedure_code, procedure_version) REFERENCES procedures (code, version)
);
CREATE INDEX dossiers_unit_received ON dossiers (unit, received_at DESC);
CREATE INDEX dossiers_status ON dossiers (status) WHERE status IN ('received', 'in_progress', 'awaiting_supplement');

-- Every action on a dossier: who, when, what. `public` marks the milestones a citizen sees.
CREATE TABLE dossier_actions (
    id           bigserial PRIMARY KEY,
    dossier_code text NOT NULL REFERENCES dossiers (code),
    action       text NOT NULL,
    actor        jsonb NOT NULL,
    at           timestamptz NOT NULL,
    details      jsonb NOT NULL DEFAULT '{}',
    public       boolean NOT NULL DEFAULT true
);
CREATE INDEX dossier_actions_dossier ON dossier_actions (dossier_code, id);

-- A retried submission with the same Idempotency-Key returns the same dossier.
CREATE TABLE idempotency_keys (
    unit          text NOT NULL,
    key           text NOT NULL,
    request_hash  text NOT NULL,
    dossier_code  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (unit, key)
);

CREATE TABLE evaluations (
    dossier_code  text PRIMARY KEY REFERENCES dossiers (code),
    ratings       jsonb NOT NULL,
    comment       text,
    at            timestamptz NOT NULL
);

-- Failed public lookups, for rate limiting guesses of PINs.
CREATE TABLE lookup_failures (
    client  text NOT NULL,
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lookup_failures_client_at ON lookup_failures (client, at);
