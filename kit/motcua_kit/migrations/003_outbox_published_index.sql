-- The relay's retention delete looks for old published events: index them, not the whole table.
CREATE INDEX outbox_events_published ON outbox_events (published_at) WHERE published_at IS NOT NULL;
