-- A tiny service schema for the kit's integration tests.

-- What the test consumer did. No unique constraint on event_id: a doubled effect stays visible.
CREATE TABLE effects (
    event_id text NOT NULL,
    subject  text NOT NULL,
    n        int  NOT NULL
);

-- The state the test emitter commits together with its events.
CREATE TABLE dossiers_test (
    code text PRIMARY KEY,
    note text
);
