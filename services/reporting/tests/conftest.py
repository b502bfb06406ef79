"""Fixtures for reporting's tests: its own database, reporting containers in a per-test vhost,
and a publisher that plays intake, routing and notification.

    reporting = make_reporting()                      # a running container (HTTP + consumers)
    publisher.event("intake", "dossier.received", data)
    reporting.get("/reports/statistics?from=…", token=make_token("supervisor"))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from motcua_kit.testing import (
    EventPublisher,
    base_config,
    load_fixtures,
    service_maker,
    sql_runner,
)
from motcua_kit.workcal import WorkCalendar
from reporting.service import ReportingService

REPORTING = Path(__file__).resolve().parents[1]
REPO = Path(__file__).resolve().parents[3]
MIGRATIONS = REPORTING / "migrations"
CALENDAR_FILE = REPO / "deploy" / "calendar.json"

_intake = load_fixtures(REPO / "services" / "intake" / "tests" / "conftest.py", "intake_fixtures")


@pytest.fixture(scope="session")
def reporting_database(migrated_database: Callable[[str, Path], str]) -> str:
    return migrated_database("reporting", MIGRATIONS)


@pytest.fixture
def reporting_database_fresh(reporting_database: str) -> str:
    """The session's database, emptied: each test counts only its own dossiers."""
    run = sql_runner(reporting_database)
    run(
        "TRUNCATE events, dossiers, fields, steps, evaluations, daily_dossiers, daily_steps,"
        " daily_notifications, inbox_events"
    )
    return reporting_database


@pytest.fixture
def reporting_sql(reporting_database_fresh: str) -> Callable[..., list[dict[str, Any]]]:
    """Run one SQL statement on reporting's test database (autocommit); returns the rows."""
    return sql_runner(reporting_database_fresh)


@pytest.fixture(scope="session")
def work_calendar() -> WorkCalendar:
    return WorkCalendar.from_file(CALENDAR_FILE)


@pytest.fixture
def reporting_config(
    rabbit_config: dict[str, Any], reporting_database_fresh: str
) -> dict[str, Any]:
    config = base_config(rabbit_config["AMQP_URI"], reporting_database_fresh)
    config["CALENDAR_FILE"] = str(CALENDAR_FILE)
    return config


@pytest.fixture
def make_reporting(
    container_factory: Any, reporting_config: dict[str, Any]
) -> Iterator[Callable[..., Any]]:
    """`make_reporting(**settings)`: a running reporting container; returns its HTTP client."""
    with service_maker(container_factory, ReportingService, reporting_config) as make:
        yield make


@pytest.fixture
def reporting(make_reporting: Callable[..., Any]) -> Any:
    return make_reporting()


@pytest.fixture
def publisher(rabbit_config: dict[str, Any]) -> Iterator[EventPublisher]:
    pub = EventPublisher(rabbit_config["AMQP_URI"])
    yield pub
    pub.close()
