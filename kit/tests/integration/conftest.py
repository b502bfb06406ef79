"""Fixtures for the kit's integration tests: a migrated database, the test vhost, the services."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
import requests
from kittest_services import BROKEN, Broker, Consumer, Emitter, Replier, Timekeeper
from motcua_kit.testing import base_config, http_port
from psycopg.rows import dict_row

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@pytest.fixture(scope="session")
def kittest_database(migrated_database: Callable[[str, Path], str]) -> str:
    return migrated_database("kittest", MIGRATIONS)


@pytest.fixture
def kit_config(rabbit_config: dict[str, Any], kittest_database: str) -> dict[str, Any]:
    return base_config(rabbit_config["AMQP_URI"], kittest_database)


@pytest.fixture
def pg(kittest_database: str) -> Iterator[psycopg.Connection[Any]]:
    """A connection of the test itself, to look at what the services committed."""
    with psycopg.connect(kittest_database, autocommit=True, row_factory=dict_row) as conn:
        yield conn  # type: ignore[misc]


@pytest.fixture
def broker(rabbit_config: dict[str, Any]) -> Iterator[Broker]:
    probe = Broker(rabbit_config["AMQP_URI"])
    yield probe
    probe.close()


@pytest.fixture
def consumer(container_factory: Any, kit_config: dict[str, Any]) -> Any:
    """A running `kitconsumer` container (its queues are declared once this returns)."""
    container = container_factory(Consumer, kit_config)
    container.start()
    return container


@pytest.fixture
def replier(container_factory: Any, kit_config: dict[str, Any]) -> Any:
    """A running `kitreplies` container (queue `kittest.replies` is declared once this returns)."""
    container = container_factory(Replier, kit_config)
    container.start()
    return container


@pytest.fixture
def start_timekeeper(container_factory: Any, kit_config: dict[str, Any]) -> Callable[..., Any]:
    """Start a `kittimers` container named `replica` in its fired rows; returns the container."""

    def start(replica: str = "r1") -> Any:
        container = container_factory(Timekeeper, {**kit_config, "REPLICA": replica})
        container.start()
        return container

    return start


@pytest.fixture
def start_emitter(container_factory: Any, kit_config: dict[str, Any]) -> Callable[..., str]:
    """Start a `kittest` container (config overrides as keyword arguments); returns its URL."""

    def start(**overrides: Any) -> str:
        config = {**kit_config, **overrides}
        container_factory(Emitter, config).start()
        return f"http://127.0.0.1:{http_port(config)}"

    return start


@pytest.fixture
def emitter(start_emitter: Callable[..., str]) -> str:
    return start_emitter()


@pytest.fixture
def post_thing() -> Callable[..., requests.Response]:
    def post(base: str, code: str, **body: Any) -> requests.Response:
        return requests.post(f"{base}/things", json={"code": code, **body}, timeout=5)

    return post


@pytest.fixture
def broken_subject() -> Iterator[str]:
    """A fresh subject whose events the `Consumer` and `Replier` fail on until it is removed."""
    subject = f"T{uuid4().hex[:8]}"
    BROKEN.add(subject)
    yield subject
    BROKEN.discard(subject)
