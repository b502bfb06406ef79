"""Faults during a burst: 1,000 submissions while every process of the platform is killed once
(kill -9), RabbitMQ is restarted and PostgreSQL crashes and recovers. Afterwards every dossier
has reached its agencies, each citizen got one receipt, the reports count 1,000 and nothing is
stuck in an outbox, a queue or a dead-letter queue. The figures are printed (`-s`) and attached
to every assertion message.

The platform runs as in production (tests/platform_stack.py) on a RabbitMQ node and a PostgreSQL
cluster of this test's own (tests/fault_infra.py): the machine's broker and database are never
restarted. Receipts go to a real SMTP server and an SMS gateway over HTTP.

900 dossiers are received at the desk of the commune whose People's Committee works in the
worklist (000.00.08.H38): each must end with step 1.1 assigned there. 100 are received at a
second commune (000.00.99.H38, added to the agencies file for this test) whose committee's own
system works on the bus, like the commune police: both are played by the reference adapter, so
these dossiers go the whole way by themselves — 1.1 done by the commune's system, 2.1 by the
police's, 2.2 assigned in Social Insurance's worklist.

Twenty desk clients submit, each submission with its own `Idempotency-Key`, and retry on a
connection error, a timeout or a 5xx (and on 409 `idempotency_key_in_use`) with a short backoff
until they get 201, as a desk client would. The faults come at spread-out points of the burst
(after every ~111 accepted submissions); the clients are held back only so far that each fault
happens while submissions are still being sent. A process that exits by itself (the reference
adapter does when the broker goes away) is started again, as the deployment's
`restart: unless-stopped` does; such exits are printed.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import signal
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import eventlet
import pytest
import requests
from fault_infra import InfraError, PgCluster, RabbitNode, postgres_bindir, rabbitmq_scripts
from motcua_kit import cooperative  # noqa: F401  (psycopg yields to eventlet in this process)
from motcua_kit.testing import load_fixtures
from platform_stack import SERVICES, Stack, StackError, iter_log_records

REPO = Path(__file__).resolve().parents[1]
FACTORIES = REPO / "services" / "intake" / "tests" / "integration" / "factories.py"
factories = load_fixtures(FACTORIES, "platform_faults_factories")

pytestmark = [pytest.mark.integration, pytest.mark.faults]

COMMUNE = "000.00.08.H38"  # People's Committee of the commune, worklist
PROVINCE = "000.00.00.H38"
BUS_COMMUNE = "000.00.99.H38"  # a second commune whose committee's system works on the bus
POLICE = "CA.H38.08"  # commune police, on the bus (seeded)
INSURANCE = "BHXH.H38"  # Social Insurance, worklist
ADAPTERS = (BUS_COMMUNE, POLICE)

SUBMISSIONS = 1000
BUS_EVERY = 10  # every 10th submission is received at the bus commune's desk
CLIENTS = 20
BURST_TIMEOUT = 300.0  # the whole burst, faults included
SETTLE_TIMEOUT = 180.0  # afterwards, until everything has arrived
STUCK_AFTER = 45.0  # settling gives up early when nothing has moved for this long
DOWN_SECONDS = 1.0  # a killed process stays down this long before it is started again
ADAPTER_WORK_SECONDS = 0.1
VN = ZoneInfo("Asia/Ho_Chi_Minh")
RECEIPT_SUBJECT = re.compile(r"^Hồ sơ (\S+) đã được tiếp nhận$")
RECEIPT_SMS = re.compile(r"^Hồ sơ (\S+) đã được tiếp nhận\.")
EARLY_COMPLETE = re.compile(r"ReplyTooEarly: complete of (\S+) before its accept")
FINAL_STATES = ("sent", "delivered")


def seconds(value: float) -> str:
    return f"{value:.1f} s"


# --- the machine of its own: broker, database, mail server, SMS gateway --------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults")


@pytest.fixture(scope="module")
def infra(workdir: Path) -> Iterator[tuple[RabbitNode, PgCluster]]:
    """A RabbitMQ node and a PostgreSQL cluster of this test's own, on free ports."""
    if rabbitmq_scripts() is None or postgres_bindir() is None:
        missing = "needs rabbitmq-server and PostgreSQL's initdb on this machine"
        if os.environ.get("MOTCUA_REQUIRE_FAULTS") == "1":  # CI: a fault test that cannot run fails
            pytest.fail(missing)
        pytest.skip(missing)
    node = RabbitNode(workdir / "rabbitmq")
    cluster = PgCluster(max_connections=200)
    try:
        starting = [eventlet.spawn(node.start), eventlet.spawn(cluster.start)]
        for thread in starting:
            thread.wait()
        yield node, cluster
    finally:
        try:
            node.destroy()
        finally:
            cluster.destroy(keep_log=workdir / "postgres.log")


def add_bus_commune(data: dict[str, Any]) -> None:
    """A second commune whose People's Committee works on the bus (its own system)."""
    data["agencies"].append(
        {
            "code": BUS_COMMUNE,
            "name": {
                "vi": "Ủy ban nhân dân xã Thạch Hội (thử nghiệm trục liên thông)",
                "en": "Thach Hoi Commune People's Committee (bus test)",
            },
            "level": "commune",
            "parent": "000.00.00.H38",
            "mode": "bus",
            "kind": "UBND_XA",
            "amqp_user": "agency-ubnd-99-h38",
        }
    )
    data["assignments"][BUS_COMMUNE] = {"UBND_XA": BUS_COMMUNE}


@pytest.fixture(scope="module")
def stack(
    infra: tuple[RabbitNode, PgCluster], workdir: Path, smtp: Any, sms_gateway: Any
) -> Iterator[Stack]:
    """intake, routing, notification (SMTP, SMS over HTTP), reporting and the two adapters, on
    the private broker and database, with short retry delays."""
    node, cluster = infra
    platform = Stack(
        workdir / "stack",
        amqp_port=node.amqp_port,
        management_url=node.management_url,
        pg_url=cluster.url,
        change_agencies=add_bus_commune,
        env={
            "OUTBOX_POLL_SECONDS": "0.5",
            "OUTBOX_MAX_BACKOFF_SECONDS": "2",  # publish again soon after the broker is back
            "CONSUMER_RETRY_DELAYS": "1,2,5,10,20",
        },
        service_env={
            "notification": {
                "EMAIL_TRANSPORT": "smtp",
                "SMTP_HOST": smtp.host,
                "SMTP_PORT": str(smtp.port),
                "SMTP_TIMEOUT": "10",
                "MAIL_FROM": "Bộ phận Một cửa <motcua@test.invalid>",
                "SMS_TRANSPORT": "http",
                "SMS_GATEWAY_URL": f"{sms_gateway.url}/sms",
                "SMS_GATEWAY_TIMEOUT": "10",
                "SMS_QUIET_HOURS": "",  # the run may fall at night
                "RATE_LIMITS": "email=100000,sms=100000,webhook=100000",
                "RETRY_SCHEDULE": "1s,2s,5s,10s,20s",
                # A sender killed mid-send leaves its lease: sent again after 15 s, same id.
                "SEND_LEASE_SECONDS": "15",
            },
        },
        health_timeout=60.0,
    )
    platform.prepare()
    try:
        platform.start_all(*SERVICES)
        for agency in ADAPTERS:
            platform.start_adapter(agency, work_seconds=ADAPTER_WORK_SECONDS)
        yield platform
    finally:
        platform.stop_all()  # the databases and the vhost go with the cluster and the node


# --- the burst --------------------------------------------------------------------------------------


@dataclass
class Submission:
    index: int
    unit: str
    key: str  # Idempotency-Key, the same on every retry
    body: dict[str, Any]
    code: str | None = None
    attempts: int = 0
    replayed: bool = False  # the 201 that ended it was a replay of an earlier commit
    errors: Counter[str] = field(default_factory=Counter)
    failed: str | None = None


def submissions(tag: str) -> list[Submission]:
    made = []
    for i in range(SUBMISSIONS):
        applicant = {
            **factories.applicant(),
            "citizen_id": f"0382{i:08d}",
            "phone": f"0912{i:06d}",
            "email": f"congdan{i:04d}.{tag}@example.vn",
        }
        unit = BUS_COMMUNE if i % BUS_EVERY == BUS_EVERY - 1 else COMMUNE
        made.append(
            Submission(i, unit, str(uuid.uuid4()), factories.submission(applicant=applicant))
        )
    return made


@dataclass
class Fault:
    name: str
    action: Callable[[], str]  # does it; returns a detail for the figures
    at: float | None = None  # seconds from the start of the burst
    accepted: int | None = None  # 201s by then
    took: float | None = None
    detail: str = ""


class Clock:
    def __init__(self) -> None:
        self.start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.start


class Supervisor:
    """The deployment's restart policy (`restart: unless-stopped`): a process of the stack that
    exits while the test has not stopped it on purpose is started again (each on its own
    greenthread); each such exit is recorded, with the process's name first."""

    def __init__(self, stack: Stack, clock: Clock) -> None:
        self.stack = stack
        self.clock = clock
        self.planned: set[str] = set()  # being killed and restarted by a fault
        self.exits: list[str] = []
        self._restarting: dict[str, Any] = {}
        self._running = True
        self._thread = eventlet.spawn(self._run)

    def stop(self) -> None:
        self._running = False
        self._thread.wait()
        for thread in list(self._restarting.values()):
            thread.wait()

    def _run(self) -> None:
        while self._running:
            for key in list(self.stack.processes):
                process = self.stack.processes[key]
                if key in self.planned or key in self._restarting or process.alive():
                    continue
                code = process.popen.returncode if process.popen else None
                self._restarting[key] = eventlet.spawn(self._restart, key, code, self.clock.now())
            eventlet.sleep(0.5)

    def _restart(self, key: str, code: int | None, down_at: float) -> None:
        try:
            while self._running and key not in self.planned:
                if self.stack.processes[key].alive():  # a fault's restart was quicker
                    break
                try:
                    self._start(key)
                    break
                except StackError:
                    eventlet.sleep(1.0)  # e.g. the broker is still away
            self.exits.append(
                f"{key} exited by itself ({code}) at {seconds(down_at)}, "
                f"running again at {seconds(self.clock.now())}"
            )
        finally:
            del self._restarting[key]

    def _start(self, key: str) -> None:
        if key.startswith("adapter-"):
            self.stack.start_adapter(key[len("adapter-") :], work_seconds=ADAPTER_WORK_SECONDS)
        else:
            name, replica = key.rsplit("-", 1)
            self.stack.start(name, int(replica))


class Burst:
    """SUBMISSIONS desk submissions from CLIENTS greenthreads while the faults are injected."""

    def __init__(self, stack: Stack, subs: list[Submission], faults: list[Fault]) -> None:
        self.stack = stack
        self.subs = subs
        self.faults = faults
        self.url = stack.url("intake") + "/dossiers"
        self.auth = {unit: stack.auth("reception", unit) for unit in (COMMUNE, BUS_COMMUNE)}
        gap = SUBMISSIONS / (len(faults) + 1)
        self.thresholds = [round(gap * (k + 1)) for k in range(len(faults))]
        self.slack = int(gap / 2)
        self.accepted = 0
        self.faults_done = 0
        self.clock = Clock()
        self.deadline = time.monotonic() + BURST_TIMEOUT
        self._next = itertools.count()
        self.elapsed = 0.0

    def may_start(self, index: int) -> bool:
        """Fault k must be over before submission thresholds[k] + slack is sent."""
        needed = sum(1 for t in self.thresholds if t + self.slack <= index)
        return self.faults_done >= needed

    def client(self) -> None:
        session = requests.Session()
        session.trust_env = False
        try:
            while (index := next(self._next)) < SUBMISSIONS:
                while not self.may_start(index) and time.monotonic() < self.deadline:
                    eventlet.sleep(0.05)
                self.submit(session, self.subs[index])
        finally:
            session.close()

    def submit(self, session: requests.Session, sub: Submission) -> None:
        failures = 0
        headers = {**self.auth[sub.unit], "Idempotency-Key": sub.key}
        while True:
            if time.monotonic() > self.deadline:
                sub.failed = f"gave up after {BURST_TIMEOUT} s ({dict(sub.errors)})"
                return
            sub.attempts += 1
            try:
                reply = session.post(self.url, json=sub.body, headers=headers, timeout=(3, 30))
            except requests.RequestException as exc:
                sub.errors[type(exc).__name__] += 1
            else:
                if reply.status_code == 201:
                    body = reply.json()
                    sub.code, sub.replayed = body["code"], bool(body.get("replayed"))
                    self.accepted += 1
                    return
                retry = reply.status_code >= 500 or (
                    reply.status_code == 409 and "idempotency_key_in_use" in reply.text
                )
                if not retry:
                    sub.failed = f"HTTP {reply.status_code}: {reply.text[:300]}"
                    return
                sub.errors[f"HTTP {reply.status_code}"] += 1
            failures += 1
            eventlet.sleep(min(2.0, 0.2 * 2 ** (failures - 1)) * random.uniform(0.5, 1.0))

    def inject(self) -> None:
        for k, fault in enumerate(self.faults):
            while self.accepted < self.thresholds[k] and time.monotonic() < self.deadline:
                eventlet.sleep(0.05)
            fault.at, fault.accepted = self.clock.now(), self.accepted
            started = time.monotonic()
            try:
                fault.detail = fault.action()
            except (StackError, InfraError) as exc:
                fault.detail = f"FAILED: {exc}"
            fault.took = time.monotonic() - started
            self.faults_done = k + 1

    def run(self) -> None:
        injector = eventlet.spawn(self.inject)
        clients = [eventlet.spawn(self.client) for _ in range(CLIENTS)]
        for thread in clients:
            thread.wait()
        self.elapsed = self.clock.now()
        injector.wait()


class BacklogMonitor:
    """Samples every service's unpublished outbox rows each second; keeps the largest."""

    def __init__(self, stack: Stack, clock: Clock) -> None:
        self.stack = stack
        self.clock = clock
        self.peak: dict[str, tuple[int, float]] = {s: (0, 0.0) for s in SERVICES}
        self._running = True
        self._thread = eventlet.spawn(self._run)

    def _run(self) -> None:
        while self._running:
            for service in SERVICES:
                try:
                    n = unpublished(self.stack, service)
                except Exception:  # noqa: S112  (the database is down for a moment: next round)
                    continue
                if n > self.peak[service][0]:
                    self.peak[service] = (n, self.clock.now())
            eventlet.sleep(1.0)

    def stop(self) -> None:
        self._running = False
        self._thread.wait()


def unpublished(stack: Stack, service: str) -> int:
    rows = stack.sql(service, "SELECT count(*) AS n FROM outbox_events WHERE published_at IS NULL")
    return int(rows[0]["n"])


# --- the faults ---------------------------------------------------------------------------------------


def crash_service(stack: Stack, supervisor: Supervisor, name: str) -> Callable[[], str]:
    def action() -> str:
        key = stack.key(name)
        supervisor.planned.add(key)
        try:
            code = stack.kill(name, sig=signal.SIGKILL)
            eventlet.sleep(DOWN_SECONDS)
            started = time.monotonic()
            stack.start(name)
            return f"exit {code}, healthy {seconds(time.monotonic() - started)} after start"
        finally:
            supervisor.planned.discard(key)

    return action


def crash_adapter(stack: Stack, supervisor: Supervisor, agency: str) -> Callable[[], str]:
    def action() -> str:
        key = f"adapter-{agency}"
        supervisor.planned.add(key)
        try:
            code = stack.processes[key].signal(signal.SIGKILL)
            eventlet.sleep(DOWN_SECONDS)
            stack.start_adapter(agency, work_seconds=ADAPTER_WORK_SECONDS)
            return f"exit {code}, {len(stack.adapter_handled(agency))} tasks handled before"
        finally:
            supervisor.planned.discard(key)

    return action


def restart_rabbitmq(node: RabbitNode) -> Callable[[], str]:
    def action() -> str:
        stopped = time.monotonic()
        node.stop()
        down = time.monotonic() - stopped
        node.start()
        return f"stopped in {seconds(down)}, up again {seconds(time.monotonic() - stopped)} after the stop began"

    return action


def crash_postgres(cluster: PgCluster) -> Callable[[], str]:
    def action() -> str:
        cluster.crash_restart(down_seconds=2.0)
        return "pg_ctl stop -m immediate, down 2 s, crash recovery, start"

    return action


# --- what happened --------------------------------------------------------------------------------


@dataclass
class Outcome:
    subs: list[Submission]
    faults: list[Fault]
    exits: list[str]
    burst_seconds: float
    settle_seconds: float
    settled: bool
    pending: dict[str, Any]
    intake: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    handovers: Counter[str]  # step.assigned events per step (routing's outbox)
    tasks: Counter[str]  # task.assigned commands per step
    worklists: dict[str, set[str]]
    adapters: dict[str, list[str]]
    deliveries: list[dict[str, Any]]
    resent: dict[str, int]  # outcomes of the attempts before a delivery's last one
    mails: list[EmailMessage]
    sms: list[dict[str, Any]]
    totals: dict[str, Any]
    backlog: dict[str, int]
    peak_backlog: dict[str, tuple[int, float]]
    queues: dict[str, int]
    dead_letters: dict[str, list[dict[str, Any]]]
    logs: dict[str, Any]
    summary: str = ""

    @property
    def codes(self) -> dict[int, str]:
        return {s.index: s.code for s in self.subs if s.code}

    def unit_of(self) -> dict[str, str]:
        return {row["code"]: row["unit"] for row in self.intake}


def everything_pending(stack: Stack, node: RabbitNode, reports: Any) -> dict[str, Any]:
    """What has not arrived yet (empty once everything has)."""
    pending: dict[str, Any] = {}
    backlog = {s: unpublished(stack, s) for s in SERVICES}
    if any(backlog.values()):
        pending["outbox"] = backlog
    busy = {
        q["name"]: q.get("messages", 0)
        for q in node.queues(stack.vhost)
        if q.get("messages") and not q["name"].endswith(".dlq")
    }
    if busy:
        pending["queues"] = busy
    unsent = stack.sql(
        "notification",
        "SELECT state, count(*) AS n FROM deliveries "
        "WHERE state IN ('pending', 'sending', 'failed_temporary') GROUP BY state",
    )
    if unsent:
        pending["deliveries"] = {r["state"]: r["n"] for r in unsent}
    receipts = stack.sql(
        "notification",
        "SELECT count(*) AS n FROM deliveries WHERE message = 'receipt' AND state = ANY(%s)",
        (list(FINAL_STATES),),
    )[0]["n"]
    if receipts < 2 * SUBMISSIONS:
        pending["receipts sent"] = receipts
    steps = stack.sql(
        "routing",
        "SELECT count(*) FILTER (WHERE agency_code = %s AND status = 'assigned') AS commune, "
        "count(*) FILTER (WHERE agency_code IN (%s, %s) AND status = 'completed') AS bus, "
        "count(*) FILTER (WHERE agency_code = %s AND status = 'assigned') AS insurance "
        "FROM steps",
        (COMMUNE, BUS_COMMUNE, POLICE, INSURANCE),
    )[0]
    bus_dossiers = SUBMISSIONS // BUS_EVERY
    expected = {
        "commune": SUBMISSIONS - bus_dossiers,
        "bus": 2 * bus_dossiers,
        "insurance": bus_dossiers,
    }
    if dict(steps) != expected:
        pending["steps"] = dict(steps)
    received = reports()["totals"]["received"]
    if received != SUBMISSIONS:
        pending["reports received"] = received
    return pending


def settle(stack: Stack, node: RabbitNode, reports: Any) -> tuple[bool, float, dict[str, Any]]:
    """Poll until nothing is pending; give up after SETTLE_TIMEOUT, or earlier when nothing has
    moved for STUCK_AFTER seconds."""
    started = time.monotonic()
    last, changed_at = None, started
    pending: dict[str, Any] = {"not looked yet": True}
    while time.monotonic() - started < SETTLE_TIMEOUT:
        try:
            pending = everything_pending(stack, node, reports)
        except Exception as exc:  # a service or the broker still coming back
            pending = {"error": f"{type(exc).__name__}: {exc}"}
        if not pending:
            return True, time.monotonic() - started, {}
        if pending != last:
            last, changed_at = pending, time.monotonic()
        elif time.monotonic() - changed_at > STUCK_AFTER:
            break
        eventlet.sleep(1.0)
    return False, time.monotonic() - started, pending


def collect(
    stack: Stack,
    node: RabbitNode,
    smtp: Any,
    sms_gateway: Any,
    reports: Any,
) -> dict[str, Any]:
    steps = stack.sql(
        "routing",
        "SELECT id, dossier_code, stage, idx, agency_code, status, attempt, "
        "assigned_at IS NOT NULL AS handed, result_reference FROM steps",
    )
    outbox = stack.sql(
        "routing",
        "SELECT type, payload->'data'->>'step_id' AS step FROM outbox_events "
        "WHERE type IN ('step.assigned', 'task.assigned')",
    )
    worklists = {}
    with requests.Session() as http:
        http.trust_env = False
        for agency in (COMMUNE, INSURANCE):
            reply = http.get(
                f"{stack.url('routing')}/agencies/{agency}/tasks",
                headers=stack.auth("processing", agency),
                timeout=60,
            )
            reply.raise_for_status()
            worklists[agency] = {t["step_id"] for t in reply.json()["tasks"]}
    queues = {q["name"]: q.get("messages", 0) for q in node.queues(stack.vhost)}
    dead = {
        name: node.peek(stack.vhost, name, 50) if count else []
        for name, count in queues.items()
        if name.endswith(".dlq")
    }
    return {
        "intake": stack.sql(
            "intake",
            "SELECT code, unit, status, applicant->>'email' AS email, current_step FROM dossiers",
        ),
        "steps": steps,
        "handovers": Counter(r["step"] for r in outbox if r["type"] == "step.assigned"),
        "tasks": Counter(r["step"] for r in outbox if r["type"] == "task.assigned"),
        "worklists": worklists,
        "adapters": {agency: stack.adapter_handled(agency) for agency in ADAPTERS},
        "deliveries": stack.sql(
            "notification",
            "SELECT id::text AS id, dossier_code, message, channel, audience, recipient, state, "
            "attempts FROM deliveries",
        ),
        "resent": {
            r["outcome"]: r["n"]
            for r in stack.sql(
                "notification",
                "SELECT coalesce(a.outcome, 'never recorded') AS outcome, count(*) AS n "
                "FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id "
                "WHERE a.attempt < d.attempts GROUP BY 1",
            )
        },
        "mails": smtp.messages(),
        "sms": [
            json.loads(c["body"]) | {"_headers": c["headers"]} for c in sms_gateway.calls("/sms")
        ],
        "totals": reports()["totals"],
        "backlog": {s: unpublished(stack, s) for s in SERVICES},
        "queues": queues,
        "dead_letters": dead,
        "logs": log_figures(stack),
    }


def log_figures(stack: Stack) -> dict[str, Any]:
    """What the services' logs say they rode out."""
    records = {s: list(iter_log_records(stack.process(s).log)) for s in SERVICES}
    early = {
        m[1]
        for r in records["routing"]
        if r.get("logger") == "motcua_kit.consumer"
        and (m := EARLY_COMPLETE.search(str(r.get("message"))))
    }
    return {
        "early completes": len(early),
        "repeated replies": sum(
            1
            for r in records["routing"]
            if str(r.get("message")).startswith("reply already applied")
        ),
        "unsettled timer transactions": {
            s: n
            for s, rs in records.items()
            if (
                n := sum(
                    1 for r in rs if "could not settle the transaction" in str(r.get("message"))
                )
            )
        },
        "consumer retries": {
            s: n
            for s, rs in records.items()
            if (n := sum(1 for r in rs if "retrying in" in str(r.get("message"))))
        },
        "relay outages": {
            s: n
            for s, rs in records.items()
            if (
                n := sum(
                    1 for r in rs if "outbox relay cannot publish yet" in str(r.get("message"))
                )
            )
        },
    }


def figures(o: Outcome) -> str:
    """The printed summary."""
    lines = ["", "=== motcua under faults: figures ==="]
    bus = sum(1 for s in o.subs if s.unit == BUS_COMMUNE)
    attempts = sum(s.attempts for s in o.subs)
    errors: Counter[str] = Counter()
    for s in o.subs:
        errors.update(s.errors)
    lines.append(
        f"submissions      {len(o.subs)} ({len(o.subs) - bus} at {COMMUNE}'s desk, worklist; "
        f"{bus} at {BUS_COMMUNE}'s desk, on the bus), {CLIENTS} clients, each its own Idempotency-Key"
    )
    lines.append(
        f"client side      {attempts} POSTs: {attempts - len(o.subs)} retries "
        f"({', '.join(f'{k} {v}' for k, v in errors.most_common()) or 'none'}); "
        f"{sum(s.replayed for s in o.subs)} answered by replaying an earlier commit; "
        f"{sum(1 for s in o.subs if s.failed)} never accepted; "
        f"most attempts for one submission {max(s.attempts for s in o.subs)}"
    )
    lines.append(
        f"elapsed          burst {seconds(o.burst_seconds)}; "
        f"{'settled' if o.settled else 'NOT settled'} {seconds(o.settle_seconds)} after it"
    )
    lines.append("faults           (seconds from the start of the burst, 201s by then)")
    for f in o.faults:
        at = seconds(f.at) if f.at is not None else "never"
        took = seconds(f.took) if f.took is not None else "-"
        lines.append(f"  {at:>9} [{f.accepted or 0:>4}] {f.name}: {f.detail} (took {took})")
    lines.append(f"unplanned exits  {'; '.join(o.exits) or 'none'}")
    lines.append(
        f"in the logs      routing: {o.logs['early completes']} completes came before their accept "
        f"(retried), {o.logs['repeated replies']} repeated replies ignored; consumer retries "
        f"{o.logs['consumer retries']}; outbox relay outages {o.logs['relay outages']}; timer "
        f"transactions that could not settle {o.logs['unsettled timer transactions'] or 'none'}"
    )
    codes = [r["code"] for r in o.intake]
    lines.append(
        f"dossiers         intake {len(codes)} rows, {len(set(codes))} distinct codes; "
        f"statuses {dict(Counter(r['status'] for r in o.intake))}"
    )
    step_states = Counter((r["agency_code"], r["status"]) for r in o.steps)
    lines.append(
        "routing steps    "
        + ", ".join(f"{a} {st} {n}" for (a, st), n in sorted(step_states.items()))
        + f"; hand-overs (step.assigned) {sum(o.handovers.values())} for {len(o.handovers)} steps, "
        f"bus tasks {sum(o.tasks.values())} for {len(o.tasks)} steps"
    )
    lines.append(
        "worklists        "
        + ", ".join(f"{a} {len(ids)} open tasks" for a, ids in o.worklists.items())
        + "; adapters handled "
        + ", ".join(
            f"{a} {len(h)} ({len(h) - len(set(h))} again after a redelivery)"
            for a, h in o.adapters.items()
        )
    )
    for channel, raw, distinct, dossiers in receipt_counts(o):
        lines.append(
            f"receipts {channel:<7} {sum(1 for d in o.deliveries if d['message'] == 'receipt' and d['channel'] == channel and d['state'] in FINAL_STATES)} "
            f"deliveries sent; {raw} arrived, {distinct} distinct ids, {dossiers} dossiers, "
            f"{raw - distinct} raw duplicates"
        )
    all_ids = Counter(str(m["Message-ID"]) for m in o.mails)
    sms_ids = Counter(str(c.get("id")) for c in o.sms)
    lines.append(
        f"all messages     email {len(o.mails)} arrived / {len(all_ids)} distinct Message-IDs; "
        f"SMS {len(o.sms)} / {len(sms_ids)} distinct ids; deliveries by state "
        f"{dict(Counter(d['state'] for d in o.deliveries))}"
    )
    lines.append(
        f"sent again       {sum(1 for d in o.deliveries if d['attempts'] > 1)} deliveries, "
        f"{sum(d['attempts'] - 1 for d in o.deliveries)} extra attempts; the attempts before "
        f"the last: {o.resent or 'none'} ('never recorded': the sender was killed or lost "
        "the database between handing the message over and recording it)"
    )
    lines.append(
        f"reports          {json.dumps({k: o.totals.get(k) for k in ('received', 'in_progress', 'completed')})}"
    )
    lines.append(
        "outbox backlog   "
        + ", ".join(f"{s} {n}" for s, n in o.backlog.items())
        + " (peak: "
        + ", ".join(f"{s} {n} at {seconds(t)}" for s, (n, t) in o.peak_backlog.items())
        + ")"
    )
    dlq = {name: len(msgs) for name, msgs in o.dead_letters.items()}
    lines.append(f"dead letters     {dlq}")
    for name, msgs in o.dead_letters.items():
        for m in msgs:
            headers = m.get("properties", {}).get("headers", {})
            lines.append(
                f"  {name}: {headers.get('x-motcua-reason')} from {headers.get('x-motcua-queue')}: "
                f"{headers.get('x-motcua-error')} | {str(m.get('payload'))[:200]}"
            )
    left = {name: n for name, n in o.queues.items() if n and not name.endswith(".dlq")}
    lines.append(f"queues not empty {left or 'none'}")
    if o.pending:
        lines.append(f"still pending    {o.pending}")
    return "\n".join(lines)


def receipt_mails(o: Outcome) -> dict[str, list[EmailMessage]]:
    by_code: dict[str, list[EmailMessage]] = defaultdict(list)
    for m in o.mails:
        match = RECEIPT_SUBJECT.match(str(m["Subject"]))
        if match:
            by_code[match[1]].append(m)
    return by_code


def receipt_sms(o: Outcome) -> dict[str, list[dict[str, Any]]]:
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in o.sms:
        match = RECEIPT_SMS.match(str(c.get("text", "")))
        if match:
            by_code[match[1]].append(c)
    return by_code


def receipt_counts(o: Outcome) -> list[tuple[str, int, int, int]]:
    """(channel, raw messages that arrived, distinct ids, dossiers reached)."""
    mails, texts = receipt_mails(o), receipt_sms(o)
    return [
        (
            "email",
            sum(len(v) for v in mails.values()),
            len({str(m["Message-ID"]) for v in mails.values() for m in v}),
            len(mails),
        ),
        (
            "sms",
            sum(len(v) for v in texts.values()),
            len({c.get("id") for v in texts.values() for c in v}),
            len(texts),
        ),
    ]


@pytest.fixture(scope="module")
def outcome(
    stack: Stack, infra: tuple[RabbitNode, PgCluster], smtp: Any, sms_gateway: Any
) -> Outcome:
    """The burst with its faults, then the wait until everything has arrived, then what each
    service, the mail server and the SMS gateway hold."""
    node, cluster = infra
    subs = submissions(uuid.uuid4().hex[:6])
    clock = Clock()
    supervisor = Supervisor(stack, clock)
    faults = [
        Fault("kill -9 routing", crash_service(stack, supervisor, "routing")),
        Fault("PostgreSQL crash and restart", crash_postgres(cluster)),
        Fault("kill -9 notification", crash_service(stack, supervisor, "notification")),
        Fault(f"kill -9 adapter {POLICE}", crash_adapter(stack, supervisor, POLICE)),
        Fault("RabbitMQ node restart", restart_rabbitmq(node)),
        Fault("kill -9 intake", crash_service(stack, supervisor, "intake")),
        Fault(f"kill -9 adapter {BUS_COMMUNE}", crash_adapter(stack, supervisor, BUS_COMMUNE)),
        Fault("kill -9 reporting", crash_service(stack, supervisor, "reporting")),
    ]
    burst = Burst(stack, subs, faults)
    burst.clock = clock
    monitor = BacklogMonitor(stack, clock)
    supervisor_stopped = False
    try:
        burst.run()
        today = datetime.now(VN).date()
        period = {"from": str(today - timedelta(days=1)), "to": str(today)}
        http = requests.Session()
        http.trust_env = False

        def reports() -> dict[str, Any]:
            reply = http.get(
                f"{stack.url('reporting')}/reports/statistics",
                params=period,
                # The province's supervisor oversees both communes of the burst.
                headers=stack.auth("supervisor", PROVINCE),
                timeout=30,
            )
            reply.raise_for_status()
            return dict(reply.json())

        settled, settle_seconds, pending = settle(stack, node, reports)
        monitor.stop()
        supervisor.stop()
        supervisor_stopped = True
        found = collect(stack, node, smtp, sms_gateway, reports)
    finally:
        if not supervisor_stopped:
            monitor.stop()
            supervisor.stop()
    result = Outcome(
        subs=subs,
        faults=faults,
        exits=supervisor.exits,
        burst_seconds=burst.elapsed,
        settle_seconds=settle_seconds,
        settled=settled,
        pending=pending,
        peak_backlog=monitor.peak,
        **found,
    )
    result.summary = figures(result)
    print(result.summary, flush=True)
    return result


# --- the promises ---------------------------------------------------------------------------------


def test_every_fault_hit_the_burst(outcome: Outcome) -> None:
    """Each fault was injected (and recovered from) while submissions were still being sent."""
    for fault in outcome.faults:
        assert fault.at is not None and not fault.detail.startswith("FAILED"), outcome.summary
        assert fault.accepted is not None and fault.accepted < SUBMISSIONS, outcome.summary
    assert outcome.settled, outcome.summary


def test_no_service_fell_over(outcome: Outcome) -> None:
    """intake, routing, notification and reporting ride out a PostgreSQL crash and a broker
    restart without exiting (the reference adapter may: it exits when the broker goes away and
    its restart policy brings it back, see docker-compose.yml)."""
    fell = [e for e in outcome.exits if not e.startswith("adapter-")]
    assert fell == [], outcome.summary


def test_every_submission_is_one_dossier(outcome: Outcome) -> None:
    """Every submission was accepted in the end, and intake holds exactly one dossier for each
    despite the retries: 1,000 distinct codes, the ones the desk was given, one per citizen."""
    assert [s.index for s in outcome.subs if s.failed] == [], outcome.summary
    codes = [r["code"] for r in outcome.intake]
    assert len(codes) == len(set(codes)) == SUBMISSIONS, outcome.summary
    assert set(codes) == set(outcome.codes.values()), outcome.summary
    assert len(set(outcome.codes.values())) == SUBMISSIONS, outcome.summary
    per_citizen = Counter(r["email"] for r in outcome.intake)
    assert [e for e, n in per_citizen.items() if n != 1] == [], outcome.summary
    assert Counter(r["status"] for r in outcome.intake) == {"in_progress": SUBMISSIONS}, (
        outcome.summary
    )


def test_every_dossier_reached_its_agencies(outcome: Outcome) -> None:
    """Routing's steps, exactly: a dossier of the worklist commune has 1.1 assigned to the
    commune (and in its worklist), 2.1 and 2.2 pending, not yet handed over; a dossier of the bus commune has 1.1 completed by that
    commune's system, 2.1 completed by the police's (result references from the adapters) and
    2.2 assigned to Social Insurance (in its worklist). Every step was handed over once
    (one step.assigned in routing's outbox), every bus step sent to its agency once."""
    by_dossier: dict[str, dict[str, tuple[str, str, bool, str | None]]] = defaultdict(dict)
    for s in outcome.steps:
        by_dossier[s["dossier_code"]][f"{s['stage']}.{s['idx']}"] = (
            s["agency_code"],
            s["status"],
            s["handed"],
            s["result_reference"],
        )
    wrong = {}
    for code, unit in outcome.unit_of().items():
        if unit == COMMUNE:
            expected = {
                "1.1": (COMMUNE, "assigned", True, None),
                "2.1": (POLICE, "pending", False, None),
                "2.2": (INSURANCE, "pending", False, None),
            }
        else:
            expected = {
                "1.1": (BUS_COMMUNE, "completed", True, f"{BUS_COMMUNE}/{code}"),
                "2.1": (POLICE, "completed", True, f"{POLICE}/{code}"),
                "2.2": (INSURANCE, "assigned", True, None),
            }
        if by_dossier.get(code) != expected:
            wrong[code] = by_dossier.get(code)
    assert wrong == {}, (
        f"{len(wrong)} dossiers off their route, e.g. {list(wrong.items())[:5]}\n{outcome.summary}"
    )
    assert set(by_dossier) == set(outcome.unit_of()), outcome.summary

    units = outcome.unit_of()
    assert outcome.worklists[COMMUNE] == {f"{c}/1.1" for c, u in units.items() if u == COMMUNE}, (
        outcome.summary
    )
    assert outcome.worklists[INSURANCE] == {
        f"{c}/2.2" for c, u in units.items() if u == BUS_COMMUNE
    }, outcome.summary

    handed = {s["id"] for s in outcome.steps if s["handed"]}
    assert outcome.handovers == dict.fromkeys(handed, 1), outcome.summary
    bus_steps = {s["id"] for s in outcome.steps if s["agency_code"] in ADAPTERS and s["handed"]}
    assert outcome.tasks == dict.fromkeys(bus_steps, 1), outcome.summary
    for agency in ADAPTERS:  # each adapter completed each of its steps (maybe twice: redelivery)
        handled = set(outcome.adapters[agency])
        assert handled == {
            s["id"] for s in outcome.steps if s["agency_code"] == agency and s["handed"]
        }, outcome.summary


def test_each_citizen_got_one_receipt(outcome: Outcome) -> None:
    """notification holds one receipt delivery per dossier and channel, sent; the mail server
    got a receipt for each dossier at the citizen's address and the SMS gateway one at the
    citizen's phone. A copy that arrived twice (a sender killed between handing it over and
    recording it) carries the same Message-ID / id as the first: the documented guarantee
    (docs/delivery-guarantees.md), so the far end shows one message."""
    codes = set(outcome.codes.values())
    receipts = [d for d in outcome.deliveries if d["message"] == "receipt"]
    per_channel = Counter((d["dossier_code"], d["channel"]) for d in receipts)
    assert per_channel == {(c, ch): 1 for c in codes for ch in ("email", "sms")}, outcome.summary
    assert [d for d in receipts if d["state"] not in FINAL_STATES] == [], outcome.summary
    delivery_of = {(d["dossier_code"], d["channel"]): d for d in receipts}

    mails = receipt_mails(outcome)
    assert set(mails) == codes, outcome.summary
    for code, copies in mails.items():
        delivery = delivery_of[(code, "email")]
        assert {str(m["Message-ID"]) for m in copies} == {f"<{delivery['id']}@motcua>"}, (
            f"{code}: {[str(m['Message-ID']) for m in copies]}\n{outcome.summary}"
        )
        assert {str(m["To"]) for m in copies} == {delivery["recipient"]}, outcome.summary

    texts = receipt_sms(outcome)
    assert set(texts) == codes, outcome.summary
    for code, copies in texts.items():
        delivery = delivery_of[(code, "sms")]
        assert {c["id"] for c in copies} == {delivery["id"]}, (
            f"{code}: {[c['id'] for c in copies]}\n{outcome.summary}"
        )
        assert {c["to"] for c in copies} == {delivery["recipient"]}, outcome.summary
        assert {c["_headers"].get("Idempotency-Key") for c in copies} == {delivery["id"]}, (
            outcome.summary
        )


def test_every_message_sent_arrived_under_its_own_id(outcome: Outcome) -> None:
    """Beyond receipts (officers' task emails too): every email and SMS delivery recorded as
    sent reached the far end, and nothing arrived that no delivery sent."""
    sent = {d["id"] for d in outcome.deliveries if d["state"] in FINAL_STATES}
    emails = {d["id"] for d in outcome.deliveries if d["channel"] == "email"} & sent
    texts = {d["id"] for d in outcome.deliveries if d["channel"] == "sms"} & sent
    assert {str(m["Message-ID"]) for m in outcome.mails} == {f"<{i}@motcua>" for i in emails}, (
        outcome.summary
    )
    assert {c["id"] for c in outcome.sms} == texts, outcome.summary
    assert [d for d in outcome.deliveries if d["state"] not in FINAL_STATES] == [], outcome.summary


def test_the_reports_count_every_dossier(outcome: Outcome) -> None:
    """reporting's statistics for the period (yesterday and today, Vietnam time) count 1,000
    dossiers received, all in progress."""
    assert outcome.totals["received"] == SUBMISSIONS, outcome.summary
    assert outcome.totals["in_progress"] == SUBMISSIONS, outcome.summary


def test_nothing_is_stuck(outcome: Outcome) -> None:
    """No unpublished row in any service's outbox, no message left in any queue, nothing in any
    dead-letter queue."""
    assert outcome.backlog == dict.fromkeys(SERVICES, 0), outcome.summary
    assert {n: c for n, c in outcome.queues.items() if c} == {}, outcome.summary
    assert {n: len(m) for n, m in outcome.dead_letters.items() if m} == {}, outcome.summary
