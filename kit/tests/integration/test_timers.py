"""Timers in the database: each fires once across replicas, after restarts, at its latest time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from kittest_services import FAILING_TIMERS, TIMER_CLAIMS, wait_for
from motcua_kit.db import Database

pytestmark = pytest.mark.integration

KIND = "kittest.reminder"


def new_key() -> str:
    return f"K{uuid4().hex[:8]}"


def in_seconds(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def database(container) -> Database:
    [provider] = [d for d in container.dependencies if isinstance(d, Database)]
    return provider


def schedule(container, key: str, due_at: datetime, **payload) -> None:
    with database(container).transaction() as uow:
        uow.schedule(KIND, key, due_at, payload)


def fired(pg, key: str) -> list[dict]:
    return pg.execute(
        "SELECT due_at, fired_at, payload, replica FROM fired_timers WHERE key = %s", (key,)
    ).fetchall()


def timer_row(pg, key: str) -> Any:
    return pg.execute(
        "SELECT due_at, fired_at FROM timers WHERE kind = %s AND key = %s", (KIND, key)
    ).fetchone()


def barrier(container, pg, due_at: datetime) -> None:
    """Wait for a timer due at `due_at`: every timer due before it has been claimed by then."""
    key = new_key()
    schedule(container, key, due_at)
    wait_for(lambda: fired(pg, key), "the barrier timer to fire")


def test_due_timers_fire_once_across_two_replicas(start_timekeeper, pg):
    first, _second = start_timekeeper("r1"), start_timekeeper("r2")
    prefix = new_key()
    keys = [f"{prefix}-{i}" for i in range(50)]
    now = datetime.now(UTC)
    with database(first).transaction() as uow:
        for key in keys:  # each claim holds its ten rows 0.2 s: the other replica takes the next
            uow.schedule(KIND, key, now, {"hold": 0.02})

    count = "SELECT count(*) AS n FROM fired_timers WHERE key LIKE %s"
    wait_for(lambda: pg.execute(count, (f"{prefix}-%",)).fetchone()["n"] >= 50, "50 timers fired")
    barrier(first, pg, in_seconds(0))

    rows = pg.execute(
        "SELECT key, replica FROM fired_timers WHERE key LIKE %s", (f"{prefix}-%",)
    ).fetchall()
    assert sorted(r["key"] for r in rows) == sorted(keys), "each timer fired exactly once"
    assert {r["replica"] for r in rows} == {"r1", "r2"}, "both replicas fired timers"


def test_timer_due_while_stopped_fires_after_restart(start_timekeeper, pg):
    before = start_timekeeper()
    key = new_key()
    due = in_seconds(1)
    schedule(before, key, due)
    before.stop()
    assert datetime.now(UTC) < due, "stopped too late to test a restart"
    assert fired(pg, key) == []

    after = start_timekeeper()
    [row] = wait_for(lambda: fired(pg, key), "the timer to fire after the restart")
    assert row["fired_at"] >= due
    barrier(after, pg, in_seconds(0))
    assert len(fired(pg, key)) == 1


def test_rescheduled_timer_fires_at_the_new_time_only(start_timekeeper, pg):
    container = start_timekeeper()
    key = new_key()
    schedule(container, key, in_seconds(0.3), version=1)
    later = in_seconds(0.8)
    schedule(container, key, later, version=2)

    [row] = wait_for(lambda: fired(pg, key), "the rescheduled timer to fire")
    assert row["due_at"] == later
    assert row["fired_at"] >= later
    assert row["payload"] == {"version": 2}
    barrier(container, pg, in_seconds(0))
    assert len(fired(pg, key)) == 1


def test_cancelled_timer_never_fires(start_timekeeper, pg):
    container = start_timekeeper()
    key = new_key()
    due = in_seconds(0.2)
    schedule(container, key, due)
    with database(container).transaction() as uow:
        uow.cancel_timer(KIND, key)

    barrier(container, pg, due + timedelta(seconds=0.1))
    assert fired(pg, key) == []
    assert timer_row(pg, key) is None


@pytest.fixture
def failing_key():
    key = new_key()
    FAILING_TIMERS.add(key)
    yield key
    FAILING_TIMERS.discard(key)


def failed_row(pg, key: str) -> Any:
    row = pg.execute(
        "SELECT due_at, fired_at, attempts, last_error FROM timers WHERE kind = %s AND key = %s",
        (KIND, key),
    ).fetchone()
    return row if row and row["attempts"] >= 1 else None


def test_failing_timer_is_put_back_and_does_not_block_the_next(start_timekeeper, pg, failing_key):
    container = start_timekeeper()
    due = in_seconds(-1)
    after_it = new_key()
    with database(container).transaction() as uow:  # claimed together, the failing one first
        uow.schedule(KIND, failing_key, due, {})
        uow.schedule(KIND, after_it, due + timedelta(milliseconds=1), {})

    [tick] = wait_for(lambda: fired(pg, after_it), "the timer due after the failing one to fire")
    row = wait_for(lambda: failed_row(pg, failing_key), "the failed firing to be recorded")
    assert row["last_error"] == "RuntimeError: failing on purpose after the claim"
    assert row["fired_at"] is None
    assert row["due_at"] > tick["fired_at"], "put back for later than the tick it failed in"
    assert fired(pg, failing_key) == []  # its handler's writes were rolled back

    FAILING_TIMERS.discard(failing_key)  # the fix is deployed
    [fired_row] = wait_for(lambda: fired(pg, failing_key), "the timer to fire once fixed")
    assert fired_row["fired_at"] >= row["due_at"]
    assert timer_row(pg, failing_key)["fired_at"] == fired_row["fired_at"]
    barrier(container, pg, in_seconds(0))
    assert len(fired(pg, failing_key)) == 1
    assert len(fired(pg, after_it)) == 1
    failures = failed_row(pg, failing_key)["attempts"]
    assert TIMER_CLAIMS[failing_key] == failures + 1  # the failed runs, then the one that fired
