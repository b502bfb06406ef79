"""Fixtures for notification's tests: its own database, a real SMTP server and a recording HTTP
server (SMS gateway and webhook subscriber) each in a process of its own, notification containers
next to intake in one vhost, and a way to publish events as intake and routing do.

    notification_api = make_notification()          # a container, settings changeable
    desk.post("/dossiers", ...)                     # intake, real HTTP
    smtp.wait_for(1); gateway.wait_for(1, "/sms")   # what really arrived
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
from motcua_kit.testing import eventually as kit_eventually
from notification.service import NotificationService

NOTIFICATION = Path(__file__).resolve().parents[1]
REPO = Path(__file__).resolve().parents[3]
MIGRATIONS = NOTIFICATION / "migrations"
TIMEOUT = 10.0
SMS_REPORT_TOKEN = "test-sms-report-token"

_intake = load_fixtures(REPO / "services" / "intake" / "tests" / "conftest.py", "intake_fixtures")
intake_database = _intake.intake_database
intake_config = _intake.intake_config
intake = _intake.intake
intake_sql = _intake.intake_sql
servers = load_fixtures(Path(__file__).parent / "support" / "servers.py", "notification_servers")


def eventually(check: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    return kit_eventually(check, what, timeout)


# --- the database ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def notification_database(migrated_database: Callable[[str, Path], str]) -> str:
    return migrated_database("notification", MIGRATIONS)


@pytest.fixture(scope="session")
def notification_sql(notification_database: str) -> Callable[..., list[dict[str, Any]]]:
    """Run one SQL statement on notification's test database (autocommit); returns the rows."""
    return sql_runner(notification_database)


@pytest.fixture
def deliveries(notification_sql: Callable[..., list[dict[str, Any]]]) -> Callable[..., Any]:
    """`deliveries(code)`: that dossier's delivery rows, oldest first."""

    def rows(code: str) -> list[dict[str, Any]]:
        return notification_sql(
            "SELECT * FROM deliveries WHERE dossier_code = %s ORDER BY created_at, channel", (code,)
        )

    return rows


# --- the outside world: SMTP server, SMS gateway / webhook subscriber -------------------------


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[Any]:
    sink = servers.SmtpSink(tmp_path / "smtp")
    yield sink
    sink.stop()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Any]:
    """One recording HTTP server: `/sms` plays the SMS gateway, `/hook...` webhook subscribers."""
    recorder = servers.HttpRecorder(tmp_path / "http")
    yield recorder
    recorder.stop()


# --- notification containers -------------------------------------------------------------------


@pytest.fixture
def notification_config(
    rabbit_config: dict[str, Any], notification_database: str, smtp: Any, gateway: Any
) -> dict[str, Any]:
    config = base_config(rabbit_config["AMQP_URI"], notification_database)
    config.update(
        {
            "EMAIL_TRANSPORT": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": smtp.port,
            "MAIL_FROM": "Bộ phận Một cửa <motcua@test.invalid>",
            "SMS_TRANSPORT": "http",
            "SMS_GATEWAY_URL": f"{gateway.url}/sms",
            "SMS_REPORT_TOKEN": SMS_REPORT_TOKEN,
            "SMS_QUIET_HOURS": "",  # tests that need quiet hours set them
            "RETRY_SCHEDULE": "0.3,0.3,0.3,0.3",
            "WEBHOOK_SUSPEND_AFTER": 3,
            "OPERATOR_EMAIL": "operator@test.invalid",
            "SEND_LEASE_SECONDS": 30,
            # The recorder plays every subscriber on 127.0.0.1: tests only, never in production.
            "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
            "WEBHOOK_SECRET_KEY": "test-webhook-secret-key",
        }
    )
    return config


@pytest.fixture
def make_notification(
    container_factory: Any, notification_config: dict[str, Any]
) -> Iterator[Callable[..., Any]]:
    """`make_notification(SMS_QUIET_HOURS="...")`: a running container, with settings changed."""
    with service_maker(container_factory, NotificationService, notification_config) as make:
        yield make


@pytest.fixture
def notification(make_notification: Callable[..., Any]) -> Any:
    return make_notification()


# --- events as intake and routing publish them -------------------------------------------------


@pytest.fixture
def publisher(rabbit_config: dict[str, Any]) -> Iterator[EventPublisher]:
    pub = EventPublisher(rabbit_config["AMQP_URI"])
    yield pub
    pub.close()


@pytest.fixture(autouse=True)
def no_leftovers(request: pytest.FixtureRequest) -> Iterator[None]:
    """The database lives for the session: retire deliveries a test left unfinished (before and
    after each integration test), so no other test's container sends them or counts them."""
    if "integration" not in str(request.node.fspath):
        yield
        return
    run = request.getfixturevalue("notification_sql")

    def retire() -> None:
        run(
            "UPDATE deliveries SET state = 'failed_permanent', failure = 'permanent',"
            " last_error = 'retired by a test', lease_until = NULL"
            " WHERE state IN ('pending', 'failed_temporary', 'sending', 'held')"
        )

    retire()
    yield
    retire()
