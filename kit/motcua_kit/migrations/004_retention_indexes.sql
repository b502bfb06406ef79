-- The relay also prunes fired timers and old handled event ids: index what it looks for.
CREATE INDEX timers_fired ON timers (fired_at) WHERE fired_at IS NOT NULL;
CREATE INDEX inbox_events_handled ON inbox_events (handled_at);
