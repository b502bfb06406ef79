"""pytest fixtures for every service's tests: real PostgreSQL, real RabbitMQ, real entrypoints.

- `rabbit_config` (from nameko's plugin) gives each test its own throw-away vhost (needs the
  RabbitMQ management plugin);
- `migrated_database(service, migrations_dir)` creates a fresh database for the test session and
  applies the kit's and the service's migrations: tests run on the real schema, never a hand-made one;
- `service_config` is a config for one service container: its database, its vhost, a free HTTP port,
  short retry delays;
- `make_token(role, unit)` signs an officer token with the tests' issuer (`shared_issuer()`: real
  keys, a real JWKS over HTTP, started once per test process);
- `service_maker(container_factory, ServiceClass, config)` starts containers on free ports and hands
  back an `Api` session for each (`api.get("/path", token=...)`, `api.container`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from kombu import Connection, Exchange, Producer
from nameko.testing.utils import find_free_port
from psycopg import sql

from motcua_kit.events import SERIALIZER, new_event
from motcua_kit.local_issuer import shared_issuer
from motcua_kit.migrate import migrate_service

PG_URL = os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432")


def _admin_url() -> str:
    return f"{PG_URL}/postgres"


def create_migrated_database(service: str, migrations_dir: Path) -> str:
    name = f"motcua_test_{service}_{uuid.uuid4().hex[:8]}"
    url = f"{PG_URL}/{name}"
    migrate_service(url, service, migrations_dir)
    return url


def drop_database(url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(_admin_url(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name)))
        )


@pytest.fixture(scope="session")
def migrated_database() -> Iterator[Callable[[str, Path], str]]:
    created: dict[tuple[str, Path], str] = {}

    def make(service: str, migrations_dir: Path) -> str:
        key = (service, migrations_dir)
        if key not in created:
            created[key] = create_migrated_database(service, migrations_dir)
        return created[key]

    yield make
    for url in created.values():
        drop_database(url)


@pytest.fixture
def make_token() -> Callable[..., str]:
    def make(
        role: str = "reception",
        unit: str | None = "000.00.08.H38",
        officer: str = "officer-1",
        **claims: Any,
    ) -> str:
        return shared_issuer().token(roles=[role], unit=unit, sub=officer, **claims)

    return make


def base_config(amqp_uri: str, database_url: str | None = None) -> dict[str, Any]:
    from nameko.testing.utils import find_free_port

    config: dict[str, Any] = {
        "AMQP_URI": amqp_uri,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}",
        **shared_issuer().config(),
        "OUTBOX_POLL_SECONDS": 0.2,
        "CONSUMER_RETRY_DELAYS": "0.2,0.4",
        "max_workers": 10,
    }
    if database_url:
        config["DATABASE_URL"] = database_url
    return config


def http_port(config: dict[str, Any]) -> int:
    return int(str(config["WEB_SERVER_ADDRESS"]).rsplit(":", 1)[1])


class Api(requests.Session):
    """requests against a running service container, with an officer's token if given;
    `container` is the container when the Api came from `service_maker`."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.container: Any = None

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, token: str | None = None, **kwargs: Any
    ) -> Any:
        kwargs["headers"] = dict(kwargs.get("headers") or {})
        if token:
            kwargs["headers"]["Authorization"] = f"Bearer {token}"
        return super().request(method, self.base + url, *args, **kwargs)


@contextmanager
def service_maker(
    container_factory: Any, service_cls: type, config: dict[str, Any]
) -> Iterator[Callable[..., Api]]:
    """`make(**overrides)`: a started container of `service_cls` on a free port, `config` changed
    by `overrides`; returns its `Api`. Afterwards the outbox is drained and the sessions closed."""
    sessions: list[Api] = []

    def make(**overrides: Any) -> Api:
        changed = {**config, **overrides, "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}"}
        container = container_factory(service_cls, changed)
        container.start()
        api = Api(f"http://127.0.0.1:{http_port(changed)}")
        api.container = container
        sessions.append(api)
        return api

    yield make
    wait_outbox_drained(config["DATABASE_URL"])
    for api in sessions:
        api.close()


def wait_outbox_drained(database_url: str, timeout: float = 5.0) -> None:
    """Before a test's container goes, let its relay publish what the test committed.

    The database is shared by the session while vhosts are per test: an event left in the outbox
    would otherwise be published by the next test's container, into the next test's vhost.
    """
    import eventlet

    with (
        psycopg.connect(database_url, autocommit=True) as conn,
        eventlet.Timeout(timeout, False),
    ):
        while conn.execute(
            "SELECT count(*) FROM outbox_events WHERE published_at IS NULL"
        ).fetchone() != (0,):
            eventlet.sleep(0.05)


def load_fixtures(path: Path, module_name: str) -> Any:
    """Another folder's conftest, as a module, so its fixtures can be re-exported here.

    Test folders have no `__init__.py`; a cross-service test borrows a service's fixtures by path.
    """
    import importlib.util

    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def eventually(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout` s."""
    import time

    import eventlet

    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        eventlet.sleep(0.05)
    return result


def sql_runner(database_url: str) -> Callable[..., list[dict[str, Any]]]:
    """`run(query, params)`: one SQL statement on a test database (autocommit); returns the rows."""
    from psycopg.rows import dict_row

    def run(query: str, params: Any = ()) -> list[dict[str, Any]]:
        with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    return run


class EventPublisher:
    """Publishes CloudEvents on `<source>.events` in the test's vhost, as the relays do."""

    def __init__(self, amqp_uri: str) -> None:
        self.connection = Connection(amqp_uri)

    def publish(self, source: str, event: dict[str, Any]) -> dict[str, Any]:
        exchange = Exchange(f"{source}.events", type="topic", durable=True)
        producer = Producer(self.connection.channel(), exchange=exchange)
        exchange(producer.channel).declare()
        producer.publish(
            event,
            routing_key=event["type"],
            serializer=SERIALIZER,
            delivery_mode=2,
            retry=True,
        )
        return event

    def event(self, source: str, event_type: str, data: dict[str, Any]) -> dict[str, Any]:
        """A fresh event (new id) of `event_type`, published."""
        event = new_event(source=source, type=event_type, subject=data.get("code", ""), data=data)
        return self.publish(source, event)

    def close(self) -> None:
        self.connection.release()
