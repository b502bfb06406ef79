-- reporting's own tables. The kit's (outbox_events, inbox_events, timers) are applied first.

-- The archive: every event consumed, as received. The tables below are rebuilt from it
-- (`python -m reporting.rebuild`). `seq` is the order events were applied in.
CREATE TABLE events (
    seq          bigserial UNIQUE,
    id           text PRIMARY KEY,
    source       text NOT NULL,
    type         text NOT NULL,
    subject      text,
    time         timestamptz NOT NULL,
    payload      jsonb NOT NULL,
    archived_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_time ON events (time);

-- Facts per dossier.
CREATE TABLE dossiers (
    code                     text PRIMARY KEY,
    unit                     text NOT NULL,
    procedure_code           text NOT NULL,
    procedure_name           text NOT NULL,
    field                    text NOT NULL,
    channel                  text NOT NULL,        -- desk | online | post
    return_method            text NOT NULL,
    received_at              timestamptz NOT NULL,
    due_at                   timestamptz NOT NULL, -- the appointment now (moved by supplements, apologies)
    original_due_at          timestamptz NOT NULL,
    status                   text NOT NULL,
    status_at                timestamptz NOT NULL, -- time of the event that set `status`
    supplement_requests      int  NOT NULL DEFAULT 0,
    paused_working_days      double precision NOT NULL DEFAULT 0,
    rescheduled              int  NOT NULL DEFAULT 0,
    ended_at                 timestamptz,          -- result ready, refused or withdrawn
    outcome                  text,                 -- completed | refused | withdrawn
    timeliness               text,                 -- early | on_time | late (completed only)
    processing_working_days  double precision,
    electronic_result        boolean,
    paid_online              boolean,              -- not carried by any event yet: unknown
    returned_at              timestamptz,
    evaluated_at             timestamptz
);
CREATE INDEX dossiers_open_due ON dossiers (due_at) WHERE ended_at IS NULL;
CREATE INDEX dossiers_ended ON dossiers (ended_at);
CREATE INDEX dossiers_received ON dossiers (received_at);

-- Facts per step (one row per step id; a step sent back keeps its id and counts attempts).
CREATE TABLE steps (
    step_id       text PRIMARY KEY,
    code          text NOT NULL,
    unit          text NOT NULL,
    agency        text NOT NULL,
    role          text,
    stage         int,
    attempt       int  NOT NULL DEFAULT 1,
    status        text NOT NULL,
    status_at     timestamptz NOT NULL,
    open          boolean NOT NULL,
    assigned_at   timestamptz,
    due_at        timestamptz,
    completed_at  timestamptz,
    timeliness    text,
    overdue_at    timestamptz,
    at_risk       double precision,
    task          text
);
CREATE INDEX steps_open_by_agency ON steps (agency, due_at) WHERE open;
CREATE INDEX steps_code ON steps (code);

-- Names of fields (lĩnh vực), as the events carried them.
CREATE TABLE fields (
    code     text PRIMARY KEY,
    name_vi  text NOT NULL,
    name_en  text NOT NULL
);

-- The dossier's unit, procedure, field and the agencies that held a step are copied in when the
-- evaluation arrives (it comes after the return), so reports never join a million dossiers.
CREATE TABLE evaluations (
    code            text PRIMARY KEY,
    unit            text NOT NULL,
    procedure_code  text NOT NULL,
    field           text NOT NULL,
    agencies        text[] NOT NULL,
    at              timestamptz NOT NULL,
    overall         text,
    ratings         jsonb NOT NULL
);
CREATE INDEX evaluations_at ON evaluations (at);

-- Aggregates kept as events arrive, so a year's summary reads days, not dossiers.
CREATE TABLE daily_dossiers (
    day                   date NOT NULL,
    unit                  text NOT NULL,
    procedure_code        text NOT NULL,
    field                 text NOT NULL,
    channel               text NOT NULL,
    received              int NOT NULL DEFAULT 0,
    supplement_requested  int NOT NULL DEFAULT 0,
    refused               int NOT NULL DEFAULT 0,
    withdrawn             int NOT NULL DEFAULT 0,
    completed_early       int NOT NULL DEFAULT 0,
    completed_on_time     int NOT NULL DEFAULT 0,
    completed_late        int NOT NULL DEFAULT 0,
    processing_days       double precision NOT NULL DEFAULT 0,
    electronic_results    int NOT NULL DEFAULT 0,
    returned              int NOT NULL DEFAULT 0,
    PRIMARY KEY (day, unit, procedure_code, field, channel)
);

CREATE TABLE daily_steps (
    day                date NOT NULL,
    agency             text NOT NULL,
    unit               text NOT NULL,
    completed_early    int NOT NULL DEFAULT 0,
    completed_on_time  int NOT NULL DEFAULT 0,
    completed_late     int NOT NULL DEFAULT 0,
    PRIMARY KEY (day, agency, unit)
);

CREATE TABLE daily_notifications (
    day      date NOT NULL,
    channel  text NOT NULL,
    message  text NOT NULL,
    outcome  text NOT NULL,   -- sent | delivered | failed
    n        int  NOT NULL DEFAULT 0,
    PRIMARY KEY (day, channel, message, outcome)
);
