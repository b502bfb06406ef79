-- What the test timer service fired. No unique constraint: a timer fired twice stays visible.
CREATE TABLE fired_timers (
    kind     text NOT NULL,
    key      text NOT NULL,
    due_at   timestamptz NOT NULL,
    fired_at timestamptz NOT NULL,
    payload  jsonb NOT NULL,
    replica  text NOT NULL
);
