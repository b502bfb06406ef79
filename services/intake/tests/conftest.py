"""Fixtures for intake's tests: a migrated database with the catalogue, and a running service."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import eventlet
import psycopg
import pytest
from intake.catalogue_loader import load as load_catalogue
from intake.service import IntakeService
from kombu import Connection, Exchange, Queue, binding
from motcua_kit.testing import (
    Api,
    base_config,
    http_port,
    service_maker,
    sql_runner,
    wait_outbox_drained,
)
from motcua_kit.workcal import WorkCalendar
from psycopg.types.json import Jsonb
from requests.adapters import HTTPAdapter

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
REPO = Path(__file__).resolve().parents[3]


DESK_ONLY = "9.000986"  # tests only: the birth bundle's papers, decided at the desk (no route)


@pytest.fixture(scope="session")
def intake_database(migrated_database: Callable[[str, Path], str]) -> str:
    url = migrated_database("intake", MIGRATIONS)
    load_catalogue(url)
    add_desk_only_procedure(url)
    return url


def add_desk_only_procedure(url: str) -> None:
    """A procedure without a route (the receiving unit decides it itself), for the tests of
    a result marked at the desk: the seeded catalogue routes every procedure."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT version, valid_from, entry FROM procedures WHERE code = '2.000986' "
            "ORDER BY version DESC LIMIT 1"
        ).fetchone()
        assert row is not None
        entry = {**row[2], "code": DESK_ONLY, "route": {"stages": []}}
        conn.execute(
            "INSERT INTO procedures (code, version, valid_from, entry) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING",
            (DESK_ONLY, row[0], row[1], Jsonb(entry)),
        )


@pytest.fixture
def intake_config(rabbit_config: dict[str, Any], intake_database: str) -> dict[str, Any]:
    config = base_config(rabbit_config["AMQP_URI"], intake_database)
    config["CALENDAR_FILE"] = str(REPO / "deploy" / "calendar.json")
    config["PUBLIC_BASE_URL"] = "http://desk.test"
    return config


@pytest.fixture
def intake(container_factory: Any, intake_config: dict[str, Any]) -> Iterator[Api]:
    """A real intake container (HTTP, database, outbox relay) on a free port."""
    container = container_factory(IntakeService, intake_config)
    container.start()
    with Api(f"http://127.0.0.1:{http_port(intake_config)}") as api:
        yield api
    wait_outbox_drained(intake_config["DATABASE_URL"])


@pytest.fixture
def make_intake(
    container_factory: Any, intake_config: dict[str, Any]
) -> Iterator[Callable[..., Api]]:
    """`make_intake(DB_POOL_SIZE=1)`: another intake container, with some settings changed."""
    with service_maker(container_factory, IntakeService, intake_config) as make:
        yield make


# --- helpers for the integration tests: the database, the broker, a citizen's browser -----------


@pytest.fixture(scope="session")
def work_calendar() -> WorkCalendar:
    """The same working-day calendar the service loads (deploy/calendar.json)."""
    return WorkCalendar.from_file(REPO / "deploy" / "calendar.json")


@pytest.fixture(scope="session")
def intake_sql(intake_database: str) -> Callable[..., list[dict[str, Any]]]:
    """Run one SQL statement on intake's test database (autocommit); returns the rows."""
    return sql_runner(intake_database)


@pytest.fixture
def outbox_events(
    intake_sql: Callable[..., list[dict[str, Any]]],
) -> Callable[[str], list[dict[str, Any]]]:
    """`outbox_events(subject)`: that dossier's outbox rows (type, payload, published_at), in order."""

    def rows(subject: str) -> list[dict[str, Any]]:
        return intake_sql(
            "SELECT type, payload, published_at FROM outbox_events WHERE subject = %s ORDER BY seq",
            (subject,),
        )

    return rows


class EventTap:
    """A queue bound on `intake.events` in the test's vhost: what the relay really published."""

    def __init__(self, amqp_uri: str, event_types: tuple[str, ...]) -> None:
        # Declared exactly as the relay declares it, so whichever comes first, both agree.
        exchange = Exchange("intake.events", type="topic", durable=True)
        self.connection = Connection(amqp_uri)
        self.queue = Queue(
            f"test-tap-{uuid.uuid4().hex[:8]}",
            bindings=[binding(exchange, routing_key=t) for t in event_types],
            exclusive=True,
        )(self.connection.channel())
        self.queue.declare()
        self.received: list[Any] = []

    def wait_for(self, event_type: str, subject: str, timeout: float = 10.0) -> Any:
        """The first message of that type about that subject; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.received:
                routing_key = message.delivery_info["routing_key"]
                if routing_key == event_type and json.loads(message.body)["subject"] == subject:
                    return message
            message = self.queue.get(no_ack=True)
            if message is not None:
                self.received.append(message)
                continue
            if time.monotonic() > deadline:
                raise AssertionError(f"no {event_type} about {subject} within {timeout} s")
            eventlet.sleep(0.05)

    def close(self) -> None:
        self.connection.release()


@pytest.fixture
def event_tap(rabbit_config: dict[str, Any]) -> Iterator[Callable[..., EventTap]]:
    """`event_tap("dossier.received", ...)`: bind a queue before the events are published."""
    taps: list[EventTap] = []

    def make(*event_types: str) -> EventTap:
        tap = EventTap(rabbit_config["AMQP_URI"], event_types)
        taps.append(tap)
        return tap

    yield make
    for tap in taps:
        tap.close()


class SourceAddressAdapter(HTTPAdapter):
    """Connects from a chosen loopback address (any 127.x.y.z reaches 127.0.0.1 on Linux)."""

    def __init__(self, source_ip: str) -> None:
        self.source_ip = source_ip
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.source_ip, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture
def make_citizen(intake: Api) -> Iterator[Callable[[], Api]]:
    """`make_citizen()`: a citizen's browser on the public endpoints, from its own client address.

    intake counts failed lookups per client address in the session-wide database, so each
    browser gets a fresh address: one test's wrong PINs never lock another test out.
    """
    sessions: list[Api] = []

    def make() -> Api:
        octets = ".".join(str(random.randint(1, 254)) for _ in range(3))
        api = Api(intake.base)
        api.mount("http://", SourceAddressAdapter(f"127.{octets}"))
        sessions.append(api)
        return api

    yield make
    for api in sessions:
        api.close()


@pytest.fixture
def citizen(make_citizen: Callable[[], Api]) -> Api:
    return make_citizen()
