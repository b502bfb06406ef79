"""Fixtures for routing's tests: its own database, routing containers next to intake in one vhost,
bus agencies (a broker user each, and the reference pika adapter in a process of its own), and a
tap on `routing.events`.

    platform.submit()                                   # birth bundle received at the commune
    platform.wait_step(f"{code}/1.1", "assigned")       # routing's database, polled
    platform.act(f"{code}/1.1", "accept", COMMUNE)      # a worklist officer of that agency
    platform.wait_dossier(code, "result_ready")         # intake's public status, polled
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import eventlet
import pika
import pytest
import requests
from kombu import Connection, Exchange, Queue, binding
from motcua_kit.events import CONTENT_TYPE, new_event
from motcua_kit.testing import (
    base_config,
    load_fixtures,
    service_maker,
    sql_runner,
)
from motcua_kit.testing import eventually as kit_eventually
from motcua_kit.workcal import WorkCalendar
from prometheus_client.parser import text_string_to_metric_families
from routing.domain.agencies import BUS, registry_from_data
from routing.provision import Management, provision
from routing.service import RoutingService

ROUTING = Path(__file__).resolve().parents[1]
REPO = Path(__file__).resolve().parents[3]
MIGRATIONS = ROUTING / "migrations"
SEEDED_AGENCIES = ROUTING / "routing" / "data" / "agencies.json"
ADAPTER = ROUTING / "adapter" / "agency_adapter.py"
CALENDAR_FILE = REPO / "deploy" / "calendar.json"
MANAGEMENT = "http://guest:guest@127.0.0.1:15672"
GUEST = ("guest", "guest")

BIRTH_BUNDLE = "2.000986"  # stage 1: the commune (1 day); stage 2: police + insurance (2 days)
COMMUNE, POLICE, INSURANCE = "000.00.08.H38", "CA.H38.08", "BHXH.H38"
TIMEOUT = 10.0


_intake = load_fixtures(REPO / "services" / "intake" / "tests" / "conftest.py", "intake_fixtures")
intake_database = _intake.intake_database
intake_config = _intake.intake_config
intake = _intake.intake


def eventually(check: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    return kit_eventually(check, what, timeout)


# --- the database ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def routing_database(migrated_database: Callable[[str, Path], str]) -> str:
    return migrated_database("routing", MIGRATIONS)


@pytest.fixture(scope="session")
def routing_sql(routing_database: str) -> Callable[..., list[dict[str, Any]]]:
    """Run one SQL statement on routing's test database (autocommit); returns the rows."""
    return sql_runner(routing_database)


@pytest.fixture(scope="session")
def work_calendar() -> WorkCalendar:
    return WorkCalendar.from_file(CALENDAR_FILE)


# --- the agencies file -------------------------------------------------------------------------


def seeded_agencies() -> dict[str, Any]:
    return json.loads(SEEDED_AGENCIES.read_text(encoding="utf-8"))


def write_agencies(path: Path, data: dict[str, Any]) -> Path:
    """Write an agencies file for one test; its bus users get a suffix of their own, since broker
    users are global and another session may be provisioning the seeded names."""
    tag = uuid.uuid4().hex[:6]
    for agency in data["agencies"]:
        if agency["mode"] == BUS:
            agency["amqp_user"] = f"{agency['amqp_user']}-{tag}"
    registry_from_data(data)  # a broken test file fails here, not in the container
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def make_agencies_file(tmp_path: Path) -> Callable[..., Path]:
    """`make_agencies_file(change)`: the seeded registry, changed in place by `change(data)`."""

    def make(change: Callable[[dict[str, Any]], None] | None = None) -> Path:
        data = seeded_agencies()
        if change is not None:
            change(data)
        return write_agencies(tmp_path / f"agencies-{uuid.uuid4().hex[:6]}.json", data)

    return make


@pytest.fixture
def agencies_file(make_agencies_file: Callable[..., Path]) -> Path:
    """routing's registry: the seeded one (police on the bus). A module may override it, e.g.
    `def agencies_file(worklist_agencies_file): return worklist_agencies_file`."""
    return make_agencies_file()


@pytest.fixture
def worklist_agencies_file(make_agencies_file: Callable[..., Path]) -> Path:
    """The commune police works in the worklist too: every step is an officer's HTTP call."""

    def police_in_worklist(data: dict[str, Any]) -> None:
        for agency in data["agencies"]:
            if agency["code"] == POLICE:
                agency.update(mode="worklist", amqp_user=None)

    return make_agencies_file(police_in_worklist)


# --- routing containers ------------------------------------------------------------------------


@pytest.fixture
def routing_config(
    rabbit_config: dict[str, Any], routing_database: str, agencies_file: Path
) -> dict[str, Any]:
    config = base_config(rabbit_config["AMQP_URI"], routing_database)
    config["CALENDAR_FILE"] = str(CALENDAR_FILE)
    config["AGENCIES_FILE"] = str(agencies_file)
    return config


@pytest.fixture
def make_routing(
    container_factory: Any, routing_config: dict[str, Any]
) -> Iterator[Callable[..., Any]]:
    """`make_routing()`: one more routing container (same database and vhost, its own port);
    returns its `Api` session, with the container as `.container`."""
    with service_maker(container_factory, RoutingService, routing_config) as make:
        yield make


@pytest.fixture
def routing(make_routing: Callable[..., Any]) -> Any:
    """A running routing container (HTTP, consumers, timers, outbox relay)."""
    return make_routing()


# --- both services in one vhost -----------------------------------------------------------------


class Platform:
    """intake and routing running side by side; helpers speak for the desk and the agencies."""

    def __init__(
        self, intake: Any, routing: Any, make_token: Callable[..., str], sql: Any, amqp_uri: str
    ) -> None:
        self.intake, self.routing, self.make_token, self.sql = intake, routing, make_token, sql
        self.amqp_uri = amqp_uri

    @staticmethod
    def eventually(check: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
        return eventually(check, what, timeout)

    def token(self, unit: str, role: str = "processing") -> str:
        return self.make_token(role, unit=unit, officer=f"{role}-{unit}")

    # the desk (intake)

    def submit(self, unit: str = COMMUNE, procedure: str = BIRTH_BUNDLE) -> dict[str, Any]:
        body = {
            "applicant": {
                "name": "Nguyễn Thị Ánh Tuyết",
                "citizen_id": f"{uuid.uuid4().int % 10**12:012d}",
                "phone": "0912345678",
                "email": f"cd{uuid.uuid4().hex[:10]}@example.vn",
                "address": "Thôn 1, xã Thạch Bình, tỉnh Hà Tĩnh",
            },
            "procedure_code": procedure,
            "documents": [
                {"code": "to-khai-lien-thong", "copies": 1},
                {"code": "giay-chung-sinh", "copies": 1},
            ],
            "channel": "desk",
            "return_method": "desk",
        }
        reply = self.intake.post("/dossiers", json=body, token=self.token(unit, "reception"))
        assert reply.status_code == 201, reply.text
        return reply.json()

    def dossier(self, code: str) -> dict[str, Any]:
        reply = self.intake.get(f"/dossiers/{code}", token=self.token(COMMUNE, "supervisor"))
        assert reply.status_code == 200, reply.text
        return reply.json()

    def history(self, code: str) -> list[dict[str, Any]]:
        reply = self.intake.get(
            f"/dossiers/{code}/history", token=self.token(COMMUNE, "supervisor")
        )
        assert reply.status_code == 200, reply.text
        return reply.json()["actions"]

    def wait_dossier(self, code: str, status: str) -> dict[str, Any]:
        return eventually(
            lambda: (d := self.dossier(code))["status"] == status and d,
            f"intake dossier {code} {status}",
        )

    # the agencies (routing)

    def step(self, step_id: str) -> dict[str, Any] | None:
        rows = self.sql("SELECT * FROM steps WHERE id = %s", (step_id,))
        return rows[0] if rows else None

    def wait_step(self, step_id: str, status: str) -> dict[str, Any]:
        return eventually(
            lambda: (s := self.step(step_id)) is not None and s["status"] == status and s,
            f"step {step_id} {status}",
        )

    def act(
        self, step_id: str, action: str, agency: str, expect: int = 200, **body: Any
    ) -> dict[str, Any]:
        reply = self.routing.post(f"/steps/{step_id}/{action}", json=body, token=self.token(agency))
        assert reply.status_code == expect, reply.text
        return reply.json()

    def finish(self, step_id: str, agency: str) -> None:
        """Accept and complete a worklist step."""
        self.act(step_id, "accept", agency)
        self.act(step_id, "complete", agency, result_reference=f"KQ-{step_id}")

    def at_stage_two(self) -> str:
        """A birth bundle whose commune step is done: step 2.1 is the police's; its code."""
        code = self.submit()["code"]
        self.wait_step(f"{code}/1.1", "assigned")
        self.finish(f"{code}/1.1", COMMUNE)
        self.wait_step(f"{code}/2.1", "assigned")
        return code

    def route(self, code: str) -> dict[str, Any]:
        reply = self.routing.get(f"/dossiers/{code}/route", token=self.token(COMMUNE, "supervisor"))
        assert reply.status_code == 200, reply.text
        return reply.json()

    # operations

    def metric(self, name: str, **labels: str) -> float:
        """A sample of routing's /metrics (0 when absent); counters are `<name>_total`."""
        text = self.routing.get("/metrics").text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return 0.0

    def dead_letters(self, queue: str = "routing.dlq") -> list[Any]:
        """Take every message waiting in a dead-letter queue (kombu messages, with headers)."""
        taken = []
        with Connection(self.amqp_uri) as conn:
            bound = Queue(queue, durable=True)(conn.channel())
            while (message := bound.get(no_ack=True)) is not None:
                taken.append(message)
        return taken


@pytest.fixture
def platform(
    intake: Any,
    routing: Any,
    make_token: Callable[..., str],
    routing_sql: Any,
    rabbit_config: dict[str, Any],
) -> Platform:
    return Platform(intake, routing, make_token, routing_sql, rabbit_config["AMQP_URI"])


# --- what routing publishes ----------------------------------------------------------------------


class EventTap:
    """A queue bound on `<service>.events` in the test's vhost: what the relays really published."""

    def __init__(self, amqp_uri: str, exchange: str, event_types: tuple[str, ...]) -> None:
        topic = Exchange(exchange, type="topic", durable=True)  # as the relay declares it
        self.connection = Connection(amqp_uri)
        self.queue = Queue(
            f"test-tap-{uuid.uuid4().hex[:8]}",
            bindings=[binding(topic, routing_key=t) for t in event_types],
            exclusive=True,
        )(self.connection.channel())
        self.queue.declare()
        self.events: list[dict[str, Any]] = []

    def pull(self) -> list[dict[str, Any]]:
        while (message := self.queue.get(no_ack=True)) is not None:
            self.events.append(json.loads(message.body))
        return self.events

    def of(self, event_type: str, subject: str) -> list[dict[str, Any]]:
        return [e for e in self.pull() if e["type"] == event_type and e["subject"] == subject]

    def wait_count(self, event_type: str, subject: str, count: int) -> list[dict[str, Any]]:
        """Wait for `count` events of that type about that subject; returns all that came."""
        eventually(
            lambda: len(self.of(event_type, subject)) >= count, f"{count} {event_type} on {subject}"
        )
        return self.of(event_type, subject)

    def wait_for(self, event_type: str, subject: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The first event of that type about that subject (CloudEvent as a dict)."""
        return eventually(
            lambda: self.of(event_type, subject), f"{event_type} about {subject}", timeout
        )[0]

    def close(self) -> None:
        self.connection.release()


@pytest.fixture
def routing_tap(rabbit_config: dict[str, Any]) -> Iterator[Callable[..., EventTap]]:
    """`routing_tap("step.#", "route.#")`: bind before the events are published;
    `exchange="intake.events"` taps another service's events."""
    taps: list[EventTap] = []

    def make(*event_types: str, exchange: str = "routing.events") -> EventTap:
        tap = EventTap(rabbit_config["AMQP_URI"], exchange, event_types or ("#",))
        taps.append(tap)
        return tap

    yield make
    for tap in taps:
        tap.close()


# --- agencies on the bus -------------------------------------------------------------------------


@dataclass
class BusAgency:
    code: str
    user: str
    password: str
    amqp_uri: str  # the agency's own login, in the test's vhost (a pika URL)


@pytest.fixture
def bus_agencies(
    rabbit_config: dict[str, Any], agencies_file: Path
) -> Iterator[dict[str, BusAgency]]:
    """Provision every bus agency of the registry in the test's vhost (users, queues, rights),
    as an operator would with `python -m routing.provision`; the users go at teardown."""
    registry = registry_from_data(json.loads(agencies_file.read_text(encoding="utf-8")))
    vhost = rabbit_config["vhost"]
    users = [a.amqp_user for a in registry.agencies.values() if a.mode == BUS and a.amqp_user]
    passwords = {
        a.code: secrets.token_urlsafe(16) for a in registry.agencies.values() if a.mode == BUS
    }
    try:
        given = provision(Management(MANAGEMENT, vhost), registry, passwords)
        agencies = {}
        for code, password in given.items():
            user = str(registry.agency(code).amqp_user)
            uri = f"amqp://{user}:{quote(password, safe='')}@127.0.0.1:5672/{quote(vhost, safe='')}"
            agencies[code] = BusAgency(code, user, password, uri)
        yield agencies
    finally:
        for user in users:
            requests.delete(
                f"http://127.0.0.1:15672/api/users/{quote(user, safe='')}", auth=GUEST, timeout=5
            )


class AgencySystem:
    """A bus agency's own system, logged in to the broker with the agency's user (plain pika)."""

    def __init__(self, agency: Any) -> None:
        self.agency = agency  # a BusAgency, or anything with a `user` and an `amqp_uri`
        self.connection = pika.BlockingConnection(pika.URLParameters(agency.amqp_uri))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()

    def reply(self, step_id: str, action: str, **data: Any) -> dict[str, Any]:
        """One reply (a fresh event each time) under the agency's own user, confirmed."""
        return self.publish(step_id, action, self.agency.user, **data)

    def publish(
        self, step_id: str, action: str, user_id: str | None, **data: Any
    ) -> dict[str, Any]:
        """A reply under any `user_id` (None: without one), as a forger would send it."""
        event = new_event(
            "agencies",
            "agency.reply",
            step_id.rsplit("/", 1)[0],
            {"step_id": step_id, "action": action, **data},
        )
        self.channel.basic_publish(
            exchange="routing.replies",
            routing_key="agency.reply",
            body=json.dumps(event).encode(),
            properties=pika.BasicProperties(
                content_type=CONTENT_TYPE, message_id=event["id"], user_id=user_id
            ),
            mandatory=True,
        )
        return event

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


@pytest.fixture
def open_agency_system() -> Iterator[Callable[[Any], AgencySystem]]:
    """`open_agency_system(agency)`: the agency's own system on the bus, closed at teardown."""
    opened: list[AgencySystem] = []

    def open_(agency: Any) -> AgencySystem:
        opened.append(AgencySystem(agency))
        return opened[-1]

    yield open_
    for system in opened:
        system.close()


class Adapter:
    """The reference adapter (plain pika), in a process of its own, for one bus agency."""

    def __init__(self, agency: BusAgency, work_seconds: float) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(ADAPTER),
                "--amqp-uri",
                agency.amqp_uri,
                "--agency",
                agency.code,
                "--work-seconds",
                str(work_seconds),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.output: list[str] = []
        if self.line() != json.dumps({"ready": agency.code}):
            raise AssertionError(f"the adapter did not start: {self.stop()}")

    def line(self) -> str:
        # eventlet's green pipe: while the test waits here, the containers keep running.
        with eventlet.Timeout(TIMEOUT, False):
            line = self.process.stdout.readline().decode("utf-8")  # type: ignore[union-attr]
            self.output.append(line)
            return line.strip()
        return ""

    def stop(self) -> str:
        """Kill it (it holds nothing: an unacked task goes back to its queue); its output."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        if self.process.stdout is not None and not self.process.stdout.closed:
            self.output.append(self.process.stdout.read().decode("utf-8", "replace"))
            self.process.stdout.close()
        return "".join(self.output)


@pytest.fixture
def start_adapter() -> Iterator[Callable[..., Adapter]]:
    """`start_adapter(bus_agencies[POLICE])`: the agency's system takes its tasks from now on."""
    started: list[Adapter] = []

    def start(agency: BusAgency, work_seconds: float = 0.2) -> Adapter:
        adapter = Adapter(agency, work_seconds)
        started.append(adapter)
        return adapter

    yield start
    for adapter in started:
        adapter.stop()
