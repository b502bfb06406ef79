"""Fixtures for intake's tests: a migrated database with the catalogue, and a running service."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from intake.catalogue_loader import load as load_catalogue
from intake.service import IntakeService
from motcua_kit.testing import base_config, http_port

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def intake_database(migrated_database: Callable[[str, Path], str]) -> str:
    url = migrated_database("intake", MIGRATIONS)
    load_catalogue(url)
    return url


@pytest.fixture
def intake_config(rabbit_config: dict[str, Any], intake_database: str) -> dict[str, Any]:
    config = base_config(rabbit_config["AMQP_URI"], intake_database)
    config["CALENDAR_FILE"] = str(REPO / "deploy" / "calendar.json")
    config["PUBLIC_BASE_URL"] = "http://desk.test"
    return config


class Api(requests.Session):
    """requests against the running intake container, with an officer's token if given."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def request(self, method: str, url: str, *args: Any, token: str | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        headers = dict(kwargs.pop("headers", None) or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return super().request(method, self.base + url, *args, headers=headers, **kwargs)


@pytest.fixture
def intake(container_factory: Any, intake_config: dict[str, Any]) -> Iterator[Api]:
    """A real intake container (HTTP, database, outbox relay) on a free port."""
    container = container_factory(IntakeService, intake_config)
    container.start()
    with Api(f"http://127.0.0.1:{http_port(intake_config)}") as api:
        yield api
