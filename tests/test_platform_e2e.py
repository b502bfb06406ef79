"""The whole platform as production runs it: every service a process of its own (routing twice),
a real SMTP server, an SMS gateway over HTTP, the bus agency's own system over plain AMQP, and a
real Prometheus server scraping every replica.

One birth bundle (2.000986) goes from the desk through the commune (worklist), the commune
police (on the bus, answered by the reference adapter) and Social Insurance (worklist) back to
the desk, is returned, and the citizen rates the service; five more dossiers wait at the commune.
Everything is done over HTTP, as the officers and the citizen would; the checks read what each
audience reads: the control slip, the citizen's mailbox and phone, the reports, Prometheus.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from motcua_kit.testing import eventually, load_fixtures
from platform_stack import Stack, free_port, local_broker, log_tail

REPO = Path(__file__).resolve().parents[1]
PROMETHEUS = Path("/usr/bin/prometheus")
FACTORIES = REPO / "services" / "intake" / "tests" / "integration" / "factories.py"

BIRTH_BUNDLE = "2.000986"
COMMUNE, POLICE, INSURANCE = "000.00.08.H38", "CA.H38.08", "BHXH.H38"
WAITING = 5  # dossiers left with the commune, besides the one followed to the end
VN = ZoneInfo("Asia/Ho_Chi_Minh")
TIMELINESS_VI = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}
TIMEOUT = 30.0  # for anything that crosses several processes and the broker

factories = load_fixtures(FACTORIES, "platform_e2e_factories")

pytestmark = pytest.mark.integration


def mark(due_at: str, finished_at: str) -> str:
    """The documented timeliness rule (docs/routing-api.md, docs/reporting.md): late after the
    due instant; early on a (Vietnamese) day before the due day; otherwise on time."""
    due, finished = datetime.fromisoformat(due_at), datetime.fromisoformat(finished_at)
    if finished > due:
        return "late"
    return "early" if finished.astimezone(VN).date() < due.astimezone(VN).date() else "on_time"


# --- the outside world -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus_binary() -> Path:
    if not PROMETHEUS.exists():
        if os.environ.get("MOTCUA_REQUIRE_PROMETHEUS") == "1":
            pytest.fail(f"{PROMETHEUS} is missing (apt-get install prometheus)")
        pytest.skip(f"{PROMETHEUS} is missing (apt-get install prometheus)")
    return PROMETHEUS


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("platform")


# --- the platform ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(prometheus_binary: Path, workdir: Path, smtp: Any, sms_gateway: Any) -> Iterator[Stack]:
    """intake, two routing replicas, notification (SMTP + HTTP SMS), reporting, the adapter."""
    platform = Stack(
        workdir / "stack",
        pg_url=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432"),
        service_env={
            # A reminder is due as soon as a step is handed over (a step has one working day of
            # office time): every step's reminder fires while both replicas run their timers.
            "routing": {"STEP_REMINDER_HOURS": "24"},
            "notification": {
                "EMAIL_TRANSPORT": "smtp",
                "SMTP_HOST": smtp.host,
                "SMTP_PORT": str(smtp.port),
                "MAIL_FROM": "Bộ phận Một cửa <motcua@test.invalid>",
                "SMS_TRANSPORT": "http",
                "SMS_GATEWAY_URL": f"{sms_gateway.url}/sms",
                "SMS_QUIET_HOURS": "",  # the run may fall at night
                "RETRY_SCHEDULE": "1s,1s,1s",
            },
        },
        **local_broker(),
    )
    with platform:
        platform.start_all("intake", ("routing", 0), ("routing", 1), "notification", "reporting")
        platform.start_adapter(POLICE)
        yield platform


class Prometheus:
    """A Prometheus server of this test: its own config, storage and port."""

    def __init__(self, binary: Path, workdir: Path, jobs: dict[str, list[str]]) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = workdir / "prometheus.yml"
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "900ms"},
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": targets}]}
                for job, targets in jobs.items()
            ],
        }
        self.config.write_text(json.dumps(config, indent=1), encoding="utf-8")  # YAML reads JSON
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "prometheus.log"
        self.http = requests.Session()
        self.http.trust_env = False
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [
                    str(binary),
                    f"--config.file={self.config}",
                    f"--storage.tsdb.path={workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            eventually(self._ready, f"Prometheus ready on {self.url}", TIMEOUT)
        except AssertionError:
            self.stop()
            raise AssertionError(f"Prometheus did not start:\n{log_tail(self.log)}") from None
        # The server answering is this one (not a system daemon): it reads our config file.
        flags = self.api("/api/v1/status/flags")
        assert flags["config.file"] == str(self.config), flags

    def _ready(self) -> bool:
        assert self.process.poll() is None, f"Prometheus exited:\n{log_tail(self.log)}"
        try:
            return self.http.get(f"{self.url}/-/ready", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def api(self, path: str, **params: str) -> Any:
        reply = self.http.get(f"{self.url}{path}", params=params, timeout=5)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["status"] == "success", body
        return body["data"]

    def targets(self) -> list[dict[str, Any]]:
        return list(self.api("/api/v1/targets", state="active")["activeTargets"])

    def query(self, promql: str) -> dict[tuple[tuple[str, str], ...], float]:
        """An instant query: {labels (sorted, without __name__): value}."""
        data = self.api("/api/v1/query", query=promql)
        assert data["resultType"] == "vector", data
        return {
            tuple(sorted((k, v) for k, v in r["metric"].items() if k != "__name__")): float(
                r["value"][1]
            )
            for r in data["result"]
        }

    def by(self, promql: str, label: str) -> dict[str, float]:
        """An instant query's values keyed by one label."""
        return {dict(labels)[label]: value for labels, value in self.query(promql).items()}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.http.close()


def target(url: str) -> str:
    return urlsplit(url).netloc


@pytest.fixture(scope="module")
def prometheus(prometheus_binary: Path, workdir: Path, stack: Stack) -> Iterator[Prometheus]:
    """Scrapes /metrics of all four services (both routing replicas) every second."""
    jobs = {
        "intake": [target(stack.url("intake"))],
        "routing": [target(stack.url("routing", 0)), target(stack.url("routing", 1))],
        "notification": [target(stack.url("notification"))],
        "reporting": [target(stack.url("reporting"))],
    }
    server = Prometheus(prometheus_binary, workdir / "prometheus", jobs)
    # Prometheus picks its targets up within a few seconds (its scrape manager reloads every 5 s).
    eventually(
        lambda: (
            len(server.targets()) == 5 and all(t["health"] != "unknown" for t in server.targets())
        ),
        "the first scrape of every target",
        TIMEOUT,
    )
    yield server
    server.stop()


# --- the people ---------------------------------------------------------------------------------


class Client:
    """One person's HTTP client for one service: JSON in and out, a bearer token if they have one."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.trust_env = False
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, expect: int = 200, **params: Any) -> Any:
        reply = self.session.get(self.base + path, params=params, timeout=10)
        assert reply.status_code == expect, f"GET {path}: {reply.status_code} {reply.text}"
        return reply.json()

    def post(self, path: str, body: Any = None, expect: int = 200, **headers: str) -> Any:
        reply = self.session.post(self.base + path, json=body, headers=headers, timeout=10)
        assert reply.status_code == expect, f"POST {path}: {reply.status_code} {reply.text}"
        return reply.json()


@dataclass
class Journey:
    """What happened, for the checks: the dossier followed to the end and the ones waiting."""

    code: str
    pin: str
    applicant: dict[str, str]
    received: dict[str, Any]
    waiting: list[str]
    returned: dict[str, Any]
    lookup: dict[str, Any]
    slips: list[dict[str, Any]]  # the control slip as each routing replica shows it


def step_ids(tasks: dict[str, Any]) -> set[str]:
    return {t["step_id"] for t in tasks["tasks"]}


def routing_events(stack: Stack, event_type: str) -> Counter[str]:
    """How many events of that type routing has emitted, per step (its outbox)."""
    rows = stack.sql(
        "routing",
        "SELECT payload->'data'->>'step_id' AS step FROM outbox_events WHERE type = %s",
        (event_type,),
    )
    return Counter(r["step"] for r in rows)


def wait_reminded(stack: Stack, *step_ids: str) -> None:
    """Until routing's timer has reminded the agencies of these steps (`step.reminder` in its
    outbox): a reminder is due at once (STEP_REMINDER_HOURS), and fires within a second."""
    eventually(
        lambda: set(step_ids) <= set(routing_events(stack, "step.reminder")),
        f"step.reminder for {', '.join(step_ids)}",
        TIMEOUT,
    )


@pytest.fixture(scope="module")
def journey(stack: Stack, prometheus: Prometheus) -> Journey:
    """The desk, the commune, Social Insurance and the citizen do their part over HTTP (the
    police's system does its own over AMQP), while Prometheus scrapes."""
    desk = Client(stack.url("intake"), stack.token("reception", COMMUNE))
    citizen = Client(stack.url("intake"))
    # The officers call whichever routing replica their load balancer gives them.
    commune = Client(stack.url("routing", 0), stack.token("processing", COMMUNE))
    insurance = Client(stack.url("routing", 1), stack.token("processing", INSURANCE))

    # Reception: the birth bundle, then five more dossiers for the commune's desk.
    applicant = factories.applicant()
    received = desk.post(
        "/dossiers",
        factories.submission(applicant=applicant),
        expect=201,
        **{"Idempotency-Key": str(uuid.uuid4())},
    )
    code, pin = received["code"], received["lookup"]["pin"]
    waiting = [
        desk.post(
            "/dossiers",
            factories.submission(),
            expect=201,
            **{"Idempotency-Key": str(uuid.uuid4())},
        )["code"]
        for _ in range(WAITING)
    ]

    # The commune People's Committee: its worklist shows step 1.1; accept, then complete.
    first = f"{code}/1.1"
    eventually(
        lambda: first in step_ids(commune.get(f"/agencies/{COMMUNE}/tasks")),
        f"{first} in the commune's worklist",
        TIMEOUT,
    )
    wait_reminded(stack, first)
    commune.post(f"/steps/{first}/accept")
    commune.post(f"/steps/{first}/complete", {"result_reference": "125/2026/TP-KS"})

    # Stage 2 in parallel: the police's own system (the adapter) answers 2.1 on the bus;
    # Social Insurance works 2.2 in its worklist.
    insured = f"{code}/2.2"
    eventually(
        lambda: insured in step_ids(insurance.get(f"/agencies/{INSURANCE}/tasks")),
        f"{insured} in Social Insurance's worklist",
        TIMEOUT,
    )
    wait_reminded(stack, insured)
    insurance.post(f"/steps/{insured}/accept")
    insurance.post(f"/steps/{insured}/complete", {"result_reference": "BHYT-3838123456"})

    # Back at the desk: the result is ready; reception hands it to the citizen.
    eventually(
        lambda: desk.get(f"/dossiers/{code}")["status"] == "result_ready",
        f"{code} result_ready at intake",
        TIMEOUT,
    )
    returned = desk.post(f"/dossiers/{code}/return", {"method": "desk"})

    # The citizen, with the code and PIN of the receipt, rates the service.
    ratings = {
        "overall": "very_satisfied",
        "staff_attitude": "satisfied",
        "on_time": "very_satisfied",
    }
    evaluated = citizen.post(
        f"/lookup/{code}/evaluation",
        {"pin": pin, "ratings": ratings, "comment": "Cán bộ hướng dẫn tận tình"},
        expect=201,
    )
    assert evaluated == {"code": code, "evaluated": True}
    lookup = citizen.post(f"/lookup/{code}", {"pin": pin})
    # The link of the receipt, the emails and the SMS opens the same page without the PIN.
    [secret] = parse_qs(urlsplit(received["lookup"]["link"]).query)["t"]
    assert citizen.get(f"/lookup/{code}", t=secret) == lookup
    # The commune has been reminded of the five dossiers it still holds.
    wait_reminded(stack, *(f"{c}/1.1" for c in waiting))

    supervisor = stack.token("supervisor", COMMUNE)
    slips = [
        Client(stack.url("routing", replica), supervisor).get(f"/dossiers/{code}/route")
        for replica in (0, 1)
    ]
    return Journey(code, pin, applicant, received, waiting, returned, lookup, slips)


# --- what each audience sees --------------------------------------------------------------------


def test_the_control_slip_shows_every_hand_over(stack: Stack, journey: Journey) -> None:
    """Form 05 lists the three hand-overs with who gave and received the file, when, and each
    step's mark against its due time; both routing replicas show the same slip."""
    slip, other = journey.slips
    assert slip == other
    assert slip["code"] == journey.code
    assert slip["status"] == "completed"
    rows = slip["rows"]
    assert [(r["step_id"], r["agency_code"], r["status"]) for r in rows] == [
        (f"{journey.code}/1.1", COMMUNE, "completed"),
        (f"{journey.code}/2.1", POLICE, "completed"),
        (f"{journey.code}/2.2", INSURANCE, "completed"),
    ]
    for row in rows:
        assert row["handed_at"] and row["received_at"] and row["finished_at"] and row["due_at"]
        handed, received, finished = (
            datetime.fromisoformat(row[k]) for k in ("handed_at", "received_at", "finished_at")
        )
        assert handed <= received <= finished, row
        assert row["timeliness"] == mark(row["due_at"], row["finished_at"]), row
        assert row["timeliness_vi"] == TIMELINESS_VI[row["timeliness"]], row
        assert row["working_days_taken"] is not None and row["working_days_taken"] >= 0
        assert row["handed_by"] and row["received_by"], row
    first, police, insurance = rows
    # Stage 2 is handed over only once the commune has finished.
    assert datetime.fromisoformat(police["handed_at"]) >= datetime.fromisoformat(
        first["finished_at"]
    )
    assert datetime.fromisoformat(insurance["handed_at"]) >= datetime.fromisoformat(
        first["finished_at"]
    )
    assert first["result_reference"] == "125/2026/TP-KS"
    assert police["result_reference"] == f"{POLICE}/{journey.code}"  # from the adapter
    assert police["received_by"]["name"] == f"Hệ thống {POLICE}"
    assert insurance["result_reference"] == "BHYT-3838123456"
    assert f"{journey.code}/2.1" in stack.adapter_handled(POLICE)


def test_the_citizen_is_told_by_email_and_sms(
    smtp: Any, sms_gateway: Any, journey: Journey
) -> None:
    """Receipt, result ready and the invitation to rate reach the citizen's mailbox (a real SMTP
    server) and phone (the SMS gateway), each once; the receipt carries the lookup PIN."""
    code, email, phone = journey.code, journey.applicant["email"], journey.applicant["phone"]
    subjects = {
        "receipt": f"Hồ sơ {code} đã được tiếp nhận",
        "result_ready": f"Hồ sơ {code} đã có kết quả",
        "evaluation_invite": f"Mời đánh giá mức độ hài lòng về việc giải quyết hồ sơ {code}",
    }

    def mails() -> list[EmailMessage]:
        return [m for m in smtp.messages() if email in str(m["To"])]

    eventually(lambda: len(mails()) >= 3, f"3 emails to {email}", TIMEOUT)
    got = sorted(str(m["Subject"]) for m in mails())
    assert got == sorted(subjects.values())
    receipt = next(m for m in mails() if str(m["Subject"]) == subjects["receipt"])
    assert journey.pin in receipt.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    def texts() -> list[dict[str, Any]]:
        calls = [json.loads(c["body"]) for c in sms_gateway.calls("/sms")]
        return [c for c in calls if code in c["text"]]

    eventually(lambda: len(texts()) >= 3, f"3 SMS about {code}", TIMEOUT)
    url = journey.received["lookup"]["link"]  # opens the dossier without typing the PIN
    appointment = datetime.fromisoformat(journey.received["appointment_at"]).astimezone(VN)
    references = f"125/2026/TP-KS; {POLICE}/{code}; BHYT-3838123456"  # the three steps' results
    sms = texts()
    assert sorted(c["text"] for c in sms) == sorted(
        [
            f"Hồ sơ {code} đã được tiếp nhận.\n"
            f"Hẹn trả kết quả: {appointment:%H:%M %d/%m/%Y}.\n"
            f"Mã PIN tra cứu: {journey.pin} (giữ bí mật).\n"
            f"Tra cứu: {url}",
            f"Hồ sơ {code} đã có kết quả (số {references}).\n"
            "Mời nhận tại Bộ phận Một cửa, mang theo Giấy hẹn trả kết quả.",
            "Cảm ơn ông/bà đã sử dụng dịch vụ. "
            f"Mời đánh giá mức độ hài lòng về hồ sơ {code} tại: {url}",
        ]
    )
    assert {(c["to"], c["sender"]) for c in sms} == {(phone, "MOTCUA")}
    assert len({c["id"] for c in sms}) == 3  # three deliveries, each sent once


def test_the_citizen_sees_the_dossier_returned(journey: Journey) -> None:
    """The public lookup (code + PIN) shows the dossier returned and rated."""
    assert journey.returned["status"] == "returned"
    assert journey.lookup["status"] == "returned"
    assert [m["action"] for m in journey.lookup["milestones"]] == [
        "received",
        "transferred",  # to the commune
        "transferred",  # to the police and Social Insurance
        "transferred",
        "result_ready",
        "returned",
        "evaluated",
    ]
    assert journey.lookup["current_step"] is None


def test_the_reports_count_it(stack: Stack, journey: Journey) -> None:
    """Statistics count six dossiers received at the commune's desk, the one completed (with the
    mark against its appointment) and returned, five still in progress; satisfaction has the
    citizen's ratings."""
    reports = Client(stack.url("reporting"), stack.token("supervisor", COMMUNE))
    desk = Client(stack.url("intake"), stack.token("supervisor", COMMUNE))
    dossier = desk.get(f"/dossiers/{journey.code}")
    expected = mark(dossier["due_at"], dossier["result_at"])  # intake's mark of the result

    def totals() -> dict[str, Any]:
        return reports.get("/reports/statistics")["totals"]

    eventually(
        lambda: (t := totals())["returned"] == 1 and t["received"] == 1 + WAITING,
        "the returned dossier in the statistics",
        TIMEOUT,
    )
    t = totals()
    assert t["received"] == 1 + WAITING
    assert t["completed"] == 1
    assert t[f"completed_{expected}"] == 1
    assert t["on_time_rate"] == 1.0
    assert t["in_progress"] == WAITING
    assert t["refused"] == t["withdrawn"] == 0
    assert t["returned"] == 1

    satisfaction = eventually(
        lambda: (
            (s := reports.get("/reports/satisfaction"))["criteria"]["overall"]["answers"] == 1 and s
        ),
        "the evaluation in the satisfaction report",
        TIMEOUT,
    )
    overall = satisfaction["criteria"]["overall"]
    assert overall["very_satisfied"] == 1 and overall["satisfied"] == overall["dissatisfied"] == 0
    assert overall["satisfied_rate"] == 1.0
    assert satisfaction["criteria"]["staff_attitude"]["satisfied"] == 1


def test_prometheus_scrapes_every_replica(
    stack: Stack, prometheus: Prometheus, journey: Journey
) -> None:
    """Five targets (routing twice), all up."""

    def health() -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for t in prometheus.targets():
            found.setdefault(t["labels"]["job"], []).append(t["health"])
        return found

    expected = {
        "intake": ["up"],
        "routing": ["up", "up"],
        "notification": ["up"],
        "reporting": ["up"],
    }
    settled({"targets": (health, expected)})
    assert prometheus.by('up{job="routing"}', "instance") == {
        target(stack.url("routing", 0)): 1.0,
        target(stack.url("routing", 1)): 1.0,
    }
    assert sorted(prometheus.query("up").values()) == [1.0] * 5


def settled(expected: dict[str, tuple[Callable[[], Any], Any]]) -> None:
    """Wait until each `read()` gives its expected value (Prometheus scrapes every second);
    fail naming what differs."""

    def wrong() -> dict[str, Any]:
        return {name: got for name, (read, want) in expected.items() if (got := read()) != want}

    try:
        eventually(lambda: not wrong(), f"expected values for {', '.join(expected)}", TIMEOUT)
    except AssertionError:
        differ = wrong()
        wanted = {name: expected[name][1] for name in differ}
        raise AssertionError(f"after {TIMEOUT} s: got {differ}, expected {wanted}") from None


def test_prometheus_has_the_business_figures(
    stack: Stack, prometheus: Prometheus, journey: Journey
) -> None:
    """Intake's received and evaluated counters, routing's open steps per agency (each replica
    reads the shared database), reporting's open dossiers, notification's sent messages."""
    expected_sms = {"receipt": 1 + WAITING, "result_ready": 1, "evaluation_invite": 1}
    expected_email = {
        **expected_sms,
        # officers: one email per hand-over and per reminder (RECIPIENTS_FILE's demo addresses)
        "task_assigned": sum(routing_events(stack, "step.assigned").values()),
        "step_reminder": sum(routing_events(stack, "step.reminder").values()),
    }
    q = prometheus.by
    open_steps = f'motcua_routing_open_steps{{agency=~"{COMMUNE}|{POLICE}|{INSURANCE}"}}'
    settled(
        {
            "received": (
                lambda: q(
                    f'motcua_intake_dossiers_received_total{{procedure="{BIRTH_BUNDLE}"}}',
                    "channel",
                ),
                {"desk": 1 + WAITING},
            ),
            "evaluations": (
                lambda: q("motcua_intake_evaluations_total", "overall"),
                {"very_satisfied": 1},
            ),
            # Each replica reads the shared database at its scrape: both say the same.
            "open steps": (
                lambda: sorted(
                    (dict(labels)["agency"], value)
                    for labels, value in prometheus.query(open_steps).items()
                ),
                sorted([(COMMUNE, WAITING), (POLICE, 0), (INSURANCE, 0)] * 2),
            ),
            "open dossiers": (
                lambda: q("motcua_reporting_open_dossiers > 0", "agency"),
                {COMMUNE: WAITING},
            ),
            "sms": (
                lambda: q(
                    'sum by (template) (motcua_notification_sent_total{channel="sms"})', "template"
                ),
                expected_sms,
            ),
            "email": (
                lambda: q(
                    'sum by (template) (motcua_notification_sent_total{channel="email"})',
                    "template",
                ),
                expected_email,
            ),
        }
    )


def test_routing_replicas_share_the_work_and_fire_each_timer_once(
    stack: Stack, prometheus: Prometheus, journey: Journey
) -> None:
    """Both routing replicas consume events (competing consumers on one queue): each dossier
    is routed once; each step is handed over once and reminded once, although both replicas
    run the timers."""
    consumed = 'motcua_events_consumed_total{job="routing",outcome="handled"}'
    settled(
        {
            # one delivery of each dossier.received, to one replica or the other
            "routed": (
                lambda: sum(
                    prometheus.query(
                        consumed[:-1] + ',consumer="routing.on_dossier_received"}'
                    ).values()
                ),
                1 + WAITING,
            ),
            "replicas that handled events": (
                lambda: len(prometheus.query(f"sum by (instance) ({consumed}) > 0")),
                2,
            ),
        }
    )

    code = journey.code
    steps = {f"{code}/1.1", f"{code}/2.1", f"{code}/2.2", *(f"{c}/1.1" for c in journey.waiting)}
    assert routing_events(stack, "step.assigned") == {s: 1 for s in steps}
    reminded = routing_events(stack, "step.reminder")
    # The police's system may finish 2.1 before its reminder fires; never twice.
    assert reminded.pop(f"{code}/2.1", 0) <= 1
    assert reminded == {s: 1 for s in steps - {f"{code}/2.1"}}
    # No timer was left behind by both replicas: none is past due and unclaimed.
    left = stack.sql(
        "routing",
        "SELECT kind, key FROM timers WHERE fired_at IS NULL AND due_at < now() - interval '5 s'",
    )
    assert left == []


def test_no_log_line_carries_the_citizens_identifiers(workdir: Path, journey: Journey) -> None:
    """Every log file of the run (each service and replica, the adapter, the set-up tools,
    Prometheus) is free of the followed citizen's ID number, phone, email, PIN and link secret,
    and of any the logs' masking caught; a line that has one is named with its file and number.
    Last in this module: the whole run."""
    [secret] = parse_qs(urlsplit(journey.received["lookup"]["link"]).query)["t"]
    identifiers = {
        "citizen ID": journey.applicant["citizen_id"],
        "phone": journey.applicant["phone"],
        "email": journey.applicant["email"],
        "PIN": journey.pin,
        "link secret": secret,
    }
    logs = sorted(workdir.rglob("*.log"))
    assert any(p.name.startswith("intake") for p in logs), logs
    assert sum(p.stat().st_size for p in logs) > 10_000, "the run wrote logs"
    # What the logs' safety net masked was logged by a source: that is a finding too (but a
    # link's `?t=` in the access log is the URL itself, masked by design).
    masked = {f"masked {m}": m for m in ("[citizen-id]", "[phone]", "[email]", "[pin]")}
    found = [
        f"{path.relative_to(workdir)}:{number}: {what}: {line.strip()[:200]}"
        for path in logs
        for number, line in enumerate(path.read_text("utf-8", errors="replace").splitlines(), 1)
        for what, value in {**identifiers, **masked}.items()
        if value in line
    ]
    assert not found, "\n".join(found)
