-- routing's own tables. The kit's (outbox_events, inbox_events, timers) are applied before these.

CREATE TABLE routes (
    dossier_code    text PRIMARY KEY,
    unit            text NOT NULL,
    procedure_code  text NOT NULL,
    procedure       jsonb NOT NULL,           -- the version the dossier was received under
    appointment_at  timestamptz NOT NULL,
    status          text NOT NULL,            -- open | completed | refused | cancelled
    created_at      timestamptz NOT NULL DEFAULT now(),
    ended_at        timestamptz,
    apology         jsonb                      -- Form 04, at most one per dossier
);

CREATE TABLE steps (
    id                text PRIMARY KEY,       -- <dossier code>/<stage>.<index>
    dossier_code      text NOT NULL REFERENCES routes (dossier_code),
    stage             int  NOT NULL,
    idx               int  NOT NULL,
    attempt           int  NOT NULL DEFAULT 1,
    agency_code       text NOT NULL,
    role              text NOT NULL,
    days              int  NOT NULL,
    task_vi           text NOT NULL,
    task_en           text NOT NULL,
    status            text NOT NULL,
    assigned_at       timestamptz,
    due_at            timestamptz,
    accepted_at       timestamptz,
    completed_at      timestamptz,
    paused_at         timestamptz,
    remaining_seconds double precision,
    handed_by         jsonb,
    received_by       jsonb,
    result_reference  text,
    note              text
);
CREATE INDEX steps_dossier ON steps (dossier_code, stage, idx);
CREATE INDEX steps_open_by_agency ON steps (agency_code, due_at)
    WHERE status IN ('assigned', 'accepted', 'awaiting_supplement');

-- Every step action, for the control slip and for accountability.
CREATE TABLE step_actions (
    id            bigserial PRIMARY KEY,
    step_id       text NOT NULL REFERENCES steps (id),
    dossier_code  text NOT NULL,
    action        text NOT NULL,
    actor         jsonb,
    at            timestamptz NOT NULL,
    details       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX step_actions_dossier ON step_actions (dossier_code, id);

-- Earlier attempts of a step (before a return to the previous step or a reassignment), so the
-- control slip shows every hand-over.
CREATE TABLE archived_steps (LIKE steps INCLUDING DEFAULTS);
ALTER TABLE archived_steps ADD PRIMARY KEY (id, attempt);
