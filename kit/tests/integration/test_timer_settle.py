"""A timer's transaction that cannot be settled (its commit fails, its connection is gone) is
undone and logged: the service's container keeps running and the next ticks do their work.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import requests
from kittest_services import wait_for
from motcua_kit.db import Database, UnitOfWork
from motcua_kit.ops import OpsEndpoints
from motcua_kit.testing import http_port
from nameko.dependency_providers import Config
from nameko.timer import timer

pytestmark = pytest.mark.integration

# What the next ticks do: "ok" (one row), "clash" (a doubled key: the deferred unique constraint
# fails the commit), "hold" (one row, then wait on the database until the test kills the backend).
PLAN = {"next": "ok"}
TICKS: list[str] = []  # how each tick went about it; tick n is TICKS[n - 1]
HELD_PIDS: list[int] = []  # the backend of each "hold" tick

TABLE = """
CREATE TABLE IF NOT EXISTS settle_ticks (
    tick int  NOT NULL,
    key  text NOT NULL,
    CONSTRAINT settle_ticks_key UNIQUE (key) DEFERRABLE INITIALLY DEFERRED
)
"""


class Settler(OpsEndpoints):
    name = "kitsettle"
    db: UnitOfWork = Database(relay=False)
    config = Config()

    @timer(interval=0.05)
    def tick(self) -> None:
        how = PLAN["next"]
        if how == "hold":
            PLAN["next"] = "ok"  # once
        TICKS.append(how)
        n = len(TICKS)
        insert = "INSERT INTO settle_ticks (tick, key) VALUES (%s, %s)"
        self.db.execute(insert, (n, f"{how}-{n}"))
        if how == "clash":
            self.db.execute(insert, (n, f"{how}-{n}"))  # checked only at commit
        elif how == "hold":
            HELD_PIDS.append(self.db.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"])
            self.db.execute("SELECT pg_sleep(30)")


@pytest.fixture
def settler(container_factory: Any, kit_config: dict[str, Any], pg: Any) -> Any:
    pg.execute(TABLE)
    pg.execute("TRUNCATE settle_ticks")
    PLAN["next"] = "ok"
    TICKS.clear()
    HELD_PIDS.clear()
    container = container_factory(Settler, kit_config)
    container.start()
    container.base_url = f"http://127.0.0.1:{http_port(kit_config)}"
    return container


def committed(pg: Any) -> list[dict[str, Any]]:
    return pg.execute("SELECT tick, key FROM settle_ticks ORDER BY tick, key").fetchall()


def ticks_of(how: str) -> list[int]:
    return [n for n, h in enumerate(TICKS, start=1) if h == how]


def alive(container: Any) -> bool:
    return not container._died.ready()


def assert_keeps_working(container: Any, pg: Any, after: int) -> None:
    """The container runs, its timer fires and commits again, and it answers `/health`."""

    def later_tick_committed() -> bool:
        assert alive(container), "the container died"
        return any(r["tick"] > after for r in committed(pg))

    wait_for(later_tick_committed, f"a tick after tick {after} to commit", timeout=5)
    health = requests.get(f"{container.base_url}/health", timeout=5)
    assert health.status_code == 200, health.text
    assert health.json()["status"] == "ok"


def test_a_tick_whose_commit_fails_is_undone_and_the_timer_goes_on(settler, pg):
    wait_for(lambda: committed(pg), "a first tick to commit", timeout=5)

    PLAN["next"] = "clash"

    def three_failed() -> bool:
        assert alive(settler), "the container died when a timer's commit failed"
        return len(ticks_of("clash")) >= 3

    wait_for(three_failed, "three ticks whose commit fails", timeout=5)
    PLAN["next"] = "ok"
    failed = ticks_of("clash")

    assert_keeps_working(settler, pg, after=failed[-1])
    rows = committed(pg)
    assert [r for r in rows if r["tick"] in failed] == []
    assert {r["key"] for r in rows} == {f"ok-{n}" for n in ticks_of("ok") if n <= rows[-1]["tick"]}


def test_a_tick_that_loses_its_connection_is_undone_and_the_timer_goes_on(settler, pg):
    wait_for(lambda: committed(pg), "a first tick to commit", timeout=5)

    PLAN["next"] = "hold"
    [pid] = wait_for(lambda: HELD_PIDS, "a tick holding its connection", timeout=5)
    [held] = ticks_of("hold")
    # As when PostgreSQL restarts under the service.
    assert pg.execute("SELECT pg_terminate_backend(%s) AS done", (pid,)).fetchone()["done"]

    assert_keeps_working(settler, pg, after=held)
    assert [r for r in committed(pg) if r["tick"] == held] == []


def test_a_lost_connection_fails_with_its_own_error_not_the_rollback(settler, pg):
    """A transaction outside any worker whose connection is gone ends with the error that lost
    it; the pool then hands out a working connection."""
    [db] = [d for d in settler.dependencies if isinstance(d, Database)]
    with pytest.raises(psycopg.OperationalError) as lost, db.transaction() as uow:
        pid = uow.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
        pg.execute("SELECT pg_terminate_backend(%s)", (pid,))
        uow.execute("SELECT 1")
    assert type(lost.value) is psycopg.errors.AdminShutdown

    with db.transaction() as uow:
        assert uow.fetchone("SELECT 1 AS one") == {"one": 1}
