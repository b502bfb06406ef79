"""Published events are kept for the retention period, then pruned; unpublished ones never are."""

from __future__ import annotations

import uuid

import pytest
from motcua_kit.outbox import OutboxRelay
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

pytestmark = pytest.mark.integration


def insert(pg, published_days_ago: int | None) -> str:
    event_id = str(uuid.uuid4())
    pg.execute(
        "INSERT INTO outbox_events (id, type, subject, payload, published_at) VALUES "
        "(%s, 'thing.created', 'retention', %s, "
        " CASE WHEN %s::int IS NULL THEN NULL ELSE now() - make_interval(days => %s::int) END)",
        (event_id, Jsonb({"id": event_id}), published_days_ago, published_days_ago),
    )
    return event_id


def test_prune_keeps_recent_and_unpublished_events_and_runs_at_most_once_a_minute(
    pg, kit_config, kittest_database
):
    old, recent, pending = insert(pg, 8), insert(pg, 1), insert(pg, None)
    with ConnectionPool(kittest_database, min_size=1, max_size=1) as pool:
        relay = OutboxRelay(pool, "kittest", {**kit_config, "OUTBOX_RETENTION_DAYS": 7})
        relay.prune()
        left = {r["id"] for r in pg.execute("SELECT id::text FROM outbox_events").fetchall()}
        assert old not in left and {recent, pending} <= left

        older = insert(pg, 30)
        relay.prune()  # within the minute: nothing more is deleted yet
        assert pg.execute("SELECT 1 FROM outbox_events WHERE id = %s", (older,)).fetchone()
    pg.execute("DELETE FROM outbox_events WHERE subject = 'retention'")


def test_prune_forgets_old_fired_timers_and_old_handled_ids_only(pg, kit_config, kittest_database):
    key = uuid.uuid4().hex
    pg.execute(
        "INSERT INTO timers (kind, key, due_at, fired_at) VALUES "
        "('retention', %s, now() - interval '9 days', now() - interval '8 days'), "
        "('retention', %s, now() - interval '2 days', now() - interval '1 day'), "
        "('retention', %s, now() - interval '9 days', NULL)",
        (f"{key}-old", f"{key}-recent", f"{key}-never-fired"),
    )
    pg.execute(
        "INSERT INTO inbox_events (consumer, event_id, handled_at) VALUES "
        "('retention', %s, now() - interval '31 days'), ('retention', %s, now() - interval '29 days')",
        (f"{key}-old", f"{key}-recent"),
    )
    with ConnectionPool(kittest_database, min_size=1, max_size=1) as pool:
        OutboxRelay(pool, "kittest", kit_config).prune()
    timers = {r["key"] for r in pg.execute("SELECT key FROM timers WHERE kind = 'retention'")}
    assert timers == {f"{key}-recent", f"{key}-never-fired"}
    handled = {
        r["event_id"]
        for r in pg.execute("SELECT event_id FROM inbox_events WHERE consumer = 'retention'")
    }
    assert handled == {f"{key}-recent"}
    pg.execute("DELETE FROM timers WHERE kind = 'retention'")
    pg.execute("DELETE FROM inbox_events WHERE consumer = 'retention'")
