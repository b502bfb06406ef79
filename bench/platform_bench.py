"""Benchmark of the whole platform: submissions through intake, and how soon the rest follows.

    .venv/bin/python bench/platform_bench.py                    # 2,000 submissions, 100 at a time
    .venv/bin/python bench/platform_bench.py --submissions 500 --concurrency 20
    .venv/bin/python bench/platform_bench.py --env intake:INTAKE_MAX_WORKERS=20 --env LOG_LEVEL=WARNING
    .venv/bin/python bench/platform_bench.py --email folder --default-rate-limits
    .venv/bin/python bench/platform_bench.py --rates 10,20,40 --rate-seconds 60   # open loop

It starts the four services as production runs them, each its own process (tests/platform_stack.py:
`python -m motcua_kit.run --config services/<name>/config.yml <name>.service`, config.yml
defaults), on this machine's RabbitMQ (a fresh vhost) and PostgreSQL (four fresh databases), plus
the bus agency's reference adapter and an SMTP server of its own (a separate process that accepts
every message into a folder, fsync'ed) that notification sends email to. SMS go to a file.

Then it submits birth bundles (procedure 2.000986) to intake's HTTP API as the commune's reception
desk (000.00.08.H38), each with its own Idempotency-Key and applicant: a warm-up first (waited
for until it has gone all the way through), then N submissions from C client threads. It measures

- submissions/s (201 replies ÷ first request to last reply) and each POST's latency;
- per dossier, from the moment the client sent its POST (wall clock; every process is on this
  host and clock) to
  (a) **task in the first agency's worklist**: routing's step 1.1 (the commune, a worklist agency)
      `assigned_at`. The bus agency (CA.H38.08) only gets stage-2 tasks, after the commune has
      finished stage 1, which no one does here: the adapter runs but stays idle;
  (b) **receipt sent**: notification's `deliveries.sent_at` of the receipt email (the outcome
      recorded after the SMTP server accepted it; all deliveries of one dispatch round share the
      round's end); also when the SMTP server wrote it (its file's mtime) and the receipt SMS;
  (c) **counted in reports**: reporting's `events.archived_at` of the `dossier.received`, in the
      transaction that also projects the dossier (the `dossiers` row is checked too);
  and the steps in between (intake's outbox `published_at`, notification's receipt queued);
- peak memory (`VmHWM`) and CPU of every process, PostgreSQL, RabbitMQ, the client, the rest;
- end to end: N ÷ (first POST → the last of (a), (b), (c) of the measured dossiers).

DB timestamps are each service's `now()` inside the transaction that makes the fact visible, so a
fact is visible a few milliseconds after the time recorded.

Open loop. The clients above are a closed loop: each sends again as soon as it is answered, so
100 of them keep ~100 submissions queued and the latency measured is that queue (Little's law:
p99 < 50 ms at 100 clients would take > 2,000 submissions/s). So, once the closed loop is through,
phases at fixed arrival rates follow on the same stack (`--rates`, each `--rate-seconds` long):
submissions scheduled 1/R apart, each sent at its time by a free one of the `--concurrency`
client threads (if none is free it waits, and the wait counts). Latency and propagation are
measured from the scheduled time, so a backlog shows (no coordinated omission); the POST alone
too. Each phase's dossiers are through before the next phase starts.

Baselines. Then it stops the platform and runs three raw baselines (bench/baseline.py; plain
psycopg and pika, one connection pair per thread, at the same concurrency, capped by
PostgreSQL's free connections). "minimal": per operation an INSERT + COMMIT and a persistent
publish with confirm — the floor of one submission. "equal work": per dossier the durable work
the platform did per dossier in the closed loop — from RabbitMQ's vhost counters (publish, ack)
over the measured phase, P confirmed publishes and C messages consumed, and as writes the
submission plus one commit per consumed message — i.e. an INSERT + COMMIT, P publishes with
confirm (fanned out to make C deliveries) and C × (get, INSERT + COMMIT, ack). Platform end to
end ÷ minimal says how far the platform is from one write and one publish; ÷ equal work says
how much of the hardware's limit for its messaging it reaches. "equal writes": the equal-work
baseline whose commits also write as many rows per dossier as the platform did (rows inserted,
updated and deleted in the four databases over the measured phase, pg_stat_user_tables) — the
issue's "the same durable writes and confirmed publishes"; ÷ equal writes says how much of the
hardware's limit for *all* of its durable work the platform reaches, i.e. what the services'
own code (HTTP, validation, rendering, reads, nameko) costs on top.

notification's RATE_LIMITS (an operator's budget at the mail and SMS provider: 600 emails a minute
by default, which would spread 2,000 receipts over 3+ minutes) are lifted for the run unless
`--default-rate-limits`, and SMS_QUIET_HOURS is empty so that day and night runs do the same work.

A summary is printed and the figures, with the machine, PostgreSQL and RabbitMQ versions, go to
bench/results/platform-<timestamp>.json. Everything started or created is removed at the end,
also on Ctrl-C, SIGTERM or an error. Only 127.0.0.1 is contacted. The targets of issue 6 (≥ 50 %
of the baseline end to end, submission p99 < 50 ms at 100 clients, propagation p99 < 1 s) are
reported as met or not, for the closed loop and per open-loop phase (and the highest rate that
meets both latency targets); only failed checks (a reply not 201, a dossier not propagated, an
incomplete baseline) make the exit status 1.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, urlsplit

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))

import baseline  # noqa: E402  (bench/ is the script's folder)
import intake_bench  # noqa: E402  (the machine and CPU helpers, the submission body)
import psycopg  # noqa: E402
import requests  # noqa: E402
from baseline import latency_summary  # noqa: E402
from common import (  # noqa: E402
    BenchFailed,
    busy_before_start,
    measure_leaving_nothing,
    process_cpu,
    write_results,
)
from common import machine as host_machine  # noqa: E402
from platform_stack import (  # noqa: E402
    BUS_AGENCY,
    SERVICES,
    Stack,
    StackError,
    iter_log_records,
    local_broker,
    log_tail,
)

SERVERS = REPO / "services" / "notification" / "tests" / "support" / "servers.py"
COMMUNE = "000.00.08.H38"  # the receiving unit, and the birth bundle's first agency (worklist)
UNLIMITED = "email=1000000,sms=1000000,webhook=1000000"
TARGETS = {"ratio_end_to_end": 0.5, "submission_p99_ms": 50.0, "propagation_p99_ms": 1000.0}
MARKS = ("task_assigned", "receipt_sent", "reported")


def load_servers() -> ModuleType:
    """services/notification/tests/support/servers.py (SmtpSink), imported by path."""
    spec = importlib.util.spec_from_file_location("platform_bench_servers", SERVERS)
    if spec is None or spec.loader is None:
        raise BenchFailed(f"cannot import {SERVERS}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the machine and the code ---------------------------------------------------------------


def server_versions(pg_url: str, management_url: str) -> dict[str, Any]:
    versions: dict[str, Any] = {}
    try:
        with psycopg.connect(f"{pg_url}/postgres", autocommit=True, connect_timeout=5) as conn:
            for name in ("server_version", "fsync", "synchronous_commit", "max_connections"):
                row = conn.execute(f"SHOW {name}").fetchone()  # fixed names
                versions[f"postgresql_{name}"] = row[0] if row else None
    except psycopg.Error as exc:
        versions["postgresql_error"] = str(exc)
    parts = urlsplit(management_url)
    try:
        with requests.Session() as http:
            http.trust_env = False
            reply = http.get(
                f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}/api/overview",
                auth=(parts.username or "guest", parts.password or "guest"),
                timeout=10,
            )
            overview = reply.json()
        versions["rabbitmq_version"] = overview.get("rabbitmq_version")
        versions["erlang_version"] = overview.get("erlang_version")
    except (requests.RequestException, ValueError) as exc:
        versions["rabbitmq_error"] = str(exc)
    return versions


def code_version() -> dict[str, Any]:
    """The commit measured, and which files of kit/ and services/ differ from it."""
    try:
        done = subprocess.run(  # noqa: S603
            ["git", "status", "--porcelain", "--", "kit", "services"],  # noqa: S607
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        head = subprocess.run(  # noqa: S603
            ["git", "rev-parse", "HEAD"],  # noqa: S607
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return {"commit": head.stdout.strip(), "changed_files": done.stdout.splitlines()}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "changed_files": []}


def free_connections(pg_url: str) -> int:
    """How many more connections PostgreSQL accepts from a superuser right now."""
    with psycopg.connect(f"{pg_url}/postgres", autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT current_setting('max_connections')::int - count(*) FROM pg_stat_activity"
            " WHERE backend_type = 'client backend'"
        ).fetchone()
    return int(row[0]) - 1 if row else 0  # less this connection's slot, gone when it closes


# --- the load --------------------------------------------------------------------------------


def submission_work(n: int, token: str) -> list[tuple[bytes, dict[str, str]]]:
    """N birth bundles, each with its own applicant and Idempotency-Key: (body, headers)."""
    return [
        (
            intake_bench.submission_body(),
            {
                "Content-Type": "application/json",
                "Idempotency-Key": str(uuid.uuid4()),
                "Authorization": f"Bearer {token}",
            },
        )
        for _ in range(n)
    ]


def post_submission(
    session: requests.Session, base: str, body: bytes, headers: dict[str, str]
) -> tuple[float, int, str | None]:
    """One POST /dossiers: (seconds it took, status or 0, dossier code or what went wrong)."""
    started = time.perf_counter()
    try:
        reply = session.post(f"{base}/dossiers", data=body, headers=headers, timeout=60)
        took = time.perf_counter() - started
        status = reply.status_code
        code = reply.json().get("code") if status == 201 else reply.text[:200]
    except (requests.RequestException, ValueError) as exc:
        took, status, code = time.perf_counter() - started, 0, repr(exc)[:200]
    return took, status, code


def client_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # an http_proxy of the shell must not capture 127.0.0.1
    return session


def drive(
    base: str, token: str, n: int, concurrency: int, max_seconds: float
) -> tuple[list[dict[str, Any]], float]:
    """N submissions from `concurrency` threads; one record per attempt (wall-clock `sent`, POST
    latency in seconds, status, dossier code) and the wall time of the whole."""
    work = submission_work(n, token)
    lock = threading.Lock()
    indexes = iter(range(n))
    records: list[dict[str, Any]] = []
    end_by = time.monotonic() + max_seconds

    def worker() -> None:
        with client_session() as session:
            while time.monotonic() < end_by:
                with lock:
                    i = next(indexes, None)
                if i is None:
                    return
                body, headers = work[i]
                sent = time.time()
                took, status, code = post_submission(session, base, body, headers)
                with lock:
                    records.append(
                        {
                            "sent": sent,
                            "replied": sent + took,
                            "took": took,
                            "status": status,
                            "code": code,
                        }
                    )

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive() and time.monotonic() < end_by + 65:
            thread.join(timeout=0.2)
    return records, time.monotonic() - started


def drive_open_loop(
    base: str, token: str, rate: float, seconds: float, concurrency: int, max_seconds: float
) -> list[dict[str, Any]]:
    """Submissions at fixed arrival times (one every 1/rate s for `seconds`), each sent by the
    next free one of `concurrency` client threads at its time; if all are busy it waits for one,
    and that wait counts: latency is from the scheduled time (no coordinated omission). One
    record per scheduled submission (wall-clock `scheduled`, `sent`, `replied`; `took` the POST
    alone, `from_scheduled` scheduled time → reply); what is more than `max_seconds` behind
    schedule is not sent (status 0)."""
    n = max(1, round(rate * seconds))
    work = submission_work(n, token)
    lock = threading.Lock()
    indexes = iter(range(n))
    records: list[dict[str, Any]] = []
    wall0, mono0 = time.time(), time.monotonic()
    first = mono0 + 0.5  # the threads are up by then

    def worker() -> None:
        with client_session() as session:
            while True:
                with lock:
                    i = next(indexes, None)
                if i is None:
                    return
                due = first + i / rate
                record: dict[str, Any] = {"scheduled": wall0 + (due - mono0)}
                if time.monotonic() > due + max_seconds:
                    record.update(status=0, code=f"not sent: over {max_seconds:g} s behind")
                else:
                    time.sleep(max(0.0, due - time.monotonic()))
                    sent_mono = time.monotonic()
                    body, headers = work[i]
                    took, status, code = post_submission(session, base, body, headers)
                    record.update(
                        sent=wall0 + (sent_mono - mono0),
                        replied=wall0 + (sent_mono - mono0) + took,
                        took=took,
                        from_scheduled=sent_mono + took - due,
                        status=status,
                        code=code,
                    )
                with lock:
                    records.append(record)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    end_by = first + seconds + max_seconds + 65
    for thread in threads:
        while thread.is_alive() and time.monotonic() < end_by:
            thread.join(timeout=0.2)
    return records


# --- what the services have done -------------------------------------------------------------


class Probe:
    """One autocommit connection per service database, for counts and timestamps."""

    COUNTS = {
        "intake": "SELECT count(*) FROM outbox_events WHERE published_at IS NULL",
        "routing": "SELECT count(*) FROM steps WHERE stage = 1 AND assigned_at IS NOT NULL",
        "notification": "SELECT count(*) FROM deliveries WHERE message = 'receipt'"
        " AND channel = 'email' AND state IN ('sent', 'delivered')",
        "reporting": "SELECT count(*) FROM events WHERE type = 'dossier.received'",
    }

    def __init__(self, stack: Stack) -> None:
        self.conns = {
            s: psycopg.connect(stack.database_url(s), autocommit=True, connect_timeout=5)
            for s in SERVICES
        }
        self.queries = dict.fromkeys(SERVICES, 0)  # each a transaction in pg_stat_database

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()

    def rows(self, service: str, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
        self.queries[service] += 1
        return self.conns[service].execute(query, params).fetchall()

    def commits(self) -> dict[str, dict[str, int]]:
        """Per service database: pg_stat_database's committed transactions so far, and how
        many of them were this probe's (counted before this query, which is one more)."""
        own = dict(self.queries)
        return {
            s: {
                "xact_commit": int(
                    self.rows(
                        s,
                        "SELECT xact_commit FROM pg_stat_database"
                        " WHERE datname = current_database()",
                    )[0][0]
                ),
                "probe_queries": own[s],
            }
            for s in SERVICES
        }

    def rows_written(self) -> dict[str, int]:
        """Per service database: rows inserted, updated and deleted in its tables so far."""
        return {
            s: int(
                self.rows(
                    s,
                    "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)"
                    " FROM pg_stat_user_tables",
                )[0][0]
            )
            for s in SERVICES
        }

    def settled_rows_written(self, quiet_s: float = 11.0, timeout: float = 40.0) -> dict[str, int]:
        """`rows_written` once it stops moving. A backend reports its counts when a transaction
        ends, at most once a second, and an idle one after 10 s (PostgreSQL 15): read until
        unchanged for `quiet_s`."""
        deadline = time.monotonic() + timeout
        last, since = self.rows_written(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = self.rows_written()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                break
        return last

    def counts(self) -> dict[str, int]:
        return {s: int(self.rows(s, q)[0][0]) for s, q in self.COUNTS.items()}

    def wait_through(self, expected: int, timeout: float) -> tuple[bool, dict[str, int], float]:
        """Until `expected` dossiers have their step 1.1 assigned, receipt email sent and
        reception archived by reporting, and intake's outbox is empty; (done, counts, seconds)."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            counts = self.counts()
            done = (
                counts["routing"] >= expected
                and counts["notification"] >= expected
                and counts["reporting"] >= expected
                and counts["intake"] == 0
            )
            if done or time.monotonic() >= deadline:
                return done, counts, time.monotonic() - started
            time.sleep(0.5)


def epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def collect(probe: Probe, maildir: Path | None) -> dict[str, dict[str, float]]:
    """{mark: {dossier code: wall-clock seconds}} for every dossier the services know."""
    marks: dict[str, dict[str, float]] = {
        m: {}
        for m in (
            *MARKS,
            "published",
            "receipt_queued",
            "receipt_sms_sent",
            "receipt_smtp",
            "reported_row",
        )
    }
    for subject, published in probe.rows(
        "intake",
        "SELECT subject, published_at FROM outbox_events WHERE type = 'dossier.received'"
        " AND published_at IS NOT NULL",
    ):
        marks["published"][subject] = epoch(published) or 0.0
    for code, assigned in probe.rows(
        "routing",
        "SELECT dossier_code, min(assigned_at) FROM steps WHERE stage = 1"
        " AND assigned_at IS NOT NULL AND agency_code = %s GROUP BY dossier_code",
        (COMMUNE,),
    ):
        marks["task_assigned"][code] = epoch(assigned) or 0.0
    by_delivery: dict[str, str] = {}
    for code, delivery_id, channel, created, sent in probe.rows(
        "notification",
        "SELECT dossier_code, id, channel, created_at, sent_at FROM deliveries"
        " WHERE message = 'receipt'",
    ):
        if channel == "email":
            marks["receipt_queued"][code] = epoch(created) or 0.0
            by_delivery[str(delivery_id)] = code
            if sent is not None:
                marks["receipt_sent"][code] = epoch(sent) or 0.0
        elif channel == "sms" and sent is not None:
            marks["receipt_sms_sent"][code] = epoch(sent) or 0.0
    if maildir is not None:
        parser = BytesParser(policy=policy.default)
        for path in maildir.glob("*.eml"):
            with open(path, "rb") as handle:
                headers = parser.parse(handle, headersonly=True)
            delivery_id = str(headers.get("Message-ID", "")).strip("<>").split("@")[0]
            if delivery_id in by_delivery:
                marks["receipt_smtp"][by_delivery[delivery_id]] = path.stat().st_mtime
    for subject, archived in probe.rows(
        "reporting",
        "SELECT subject, archived_at FROM events WHERE type = 'dossier.received'",
    ):
        marks["reported"][subject] = epoch(archived) or 0.0
    for (code,) in probe.rows("reporting", "SELECT code FROM dossiers"):
        marks["reported_row"][code] = 1.0
    return marks


# --- the durable work per dossier (for the equal-work baseline) -------------------------------


def vhost_message_stats(stack: Stack) -> dict[str, int]:
    """The counters of the stack's vhost in RabbitMQ's management API (publish, confirm, ack,
    deliver_get, redeliver, drop_unroutable, ...), cumulative since the vhost was created."""
    with client_session() as http:
        reply = http.get(
            f"{stack.management_api}/vhosts/{quote(stack.vhost, safe='')}",
            auth=stack.management_auth,
            timeout=10,
        )
    reply.raise_for_status()
    stats = reply.json().get("message_stats") or {}
    return {k: int(v) for k, v in stats.items() if isinstance(v, int)}


def settled_message_stats(
    stack: Stack, quiet_s: float = 6.0, timeout: float = 30.0
) -> tuple[dict[str, int], bool]:
    """The vhost's counters once they stop moving. An open channel reports its counters every
    collect_statistics_interval (5 s by default), so a reading lags by up to that: read until
    unchanged for `quiet_s`. (counters, whether they settled before `timeout`)."""
    deadline = time.monotonic() + timeout
    last = vhost_message_stats(stack)
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = vhost_message_stats(stack)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return last, True
    return last, False


def work_snapshot(stack: Stack, probe: Probe) -> dict[str, Any]:
    """Broker counters (settled) and each service database's commits, at one moment when
    nothing is in flight."""
    stats, settled = settled_message_stats(stack)
    rows = probe.settled_rows_written()
    return {"broker": stats, "settled": settled, "commits": probe.commits(), "rows": rows}


def per_dossier(count: float, dossiers: int) -> float:
    return round(count / dossiers, 2) if dossiers else 0.0


def work_per_dossier(
    before: dict[str, Any], after: dict[str, Any], dossiers: int
) -> dict[str, Any]:
    """What the platform did durably per dossier between two snapshots, and the figures the
    equal-work baseline repeats.

    Write transactions: pg_stat_database.xact_commit counts read-only transactions too (the
    outbox relays' and timers' polls, this bench's probe), and the WAL position and the
    transaction-id counter are global to a PostgreSQL server that other runs share. So the
    baseline takes as durable writes per dossier the submission's transaction plus one per
    message consumed and acked (a consumer commits its inbox row and its effect, then acks);
    the outbox relays' "published" updates (one per batch) are left out. xact_commit per
    database, less the probe's own queries, is kept beside it as an upper bound.

    Rows written: pg_stat_user_tables' rows inserted, updated and deleted in each service's
    database (per database, so other runs do not count; the probe only reads). A multi-row
    statement (the relays' "published" updates, notification's set-based outcomes) counts a row
    each, where the equal-writes baseline spends a statement each: a few rows per dossier.

    Publishes: the vhost's publish counter (every confirmed event of the outboxes and any
    consumer-side copy); this bench has no tap queue or consumer on the stack's vhost, and the
    bus agency's adapter stays idle (it only gets stage-2 tasks), so every count is the
    services'."""
    broker = {
        k: after["broker"].get(k, 0) - before["broker"].get(k, 0)
        for k in sorted(set(after["broker"]) | set(before["broker"]))
    }
    commits = {
        s: after["commits"][s]["xact_commit"]
        - before["commits"][s]["xact_commit"]
        - (after["commits"][s]["probe_queries"] - before["commits"][s]["probe_queries"])
        for s in SERVICES
    }
    rows = {s: after["rows"][s] - before["rows"][s] for s in SERVICES}
    publishes = broker.get("publish", 0) / dossiers if dossiers else 0.0
    consumed = broker.get("ack", 0) / dossiers if dossiers else 0.0
    rows_total = sum(rows.values()) / dossiers if dossiers else 0.0
    return {
        "dossiers": dossiers,
        "broker_delta": broker,
        "broker_settled": before["settled"] and after["settled"],
        "publishes": per_dossier(broker.get("publish", 0), dossiers),
        "confirms": per_dossier(broker.get("confirm", 0), dossiers),
        "consumed_acked": per_dossier(broker.get("ack", 0), dossiers),
        "redelivered": per_dossier(broker.get("redeliver", 0), dossiers),
        "xact_commit_upper_bound": {s: per_dossier(c, dossiers) for s, c in commits.items()},
        "rows_written": {s: per_dossier(r, dossiers) for s, r in rows.items()},
        "baseline": {
            "confirmed_publishes": max(1, int(publishes + 0.5)),
            "consumed_acked": int(consumed + 0.5),
            "writes": 1 + int(consumed + 0.5),
            "rows": max(1 + int(consumed + 0.5), int(rows_total + 0.5)),
        },
    }


# --- processes: memory and CPU ---------------------------------------------------------------


def pids(stack: Stack, sink: Any) -> dict[str, int]:
    found = {name: p.pid for name, p in stack.processes.items() if p.alive() and p.pid}
    if sink is not None and sink.process.poll() is None:
        found["smtp-sink"] = sink.process.pid
    return found


PROGRAMS = {"postgres": "postgresql", "beam.smp": "rabbitmq"}


def describe_process(pid: int, comm: str) -> str:
    """A process's command line, shortened (its name if it is gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = handle.read().split(b"\0")
    except OSError:
        return comm
    text = " ".join(w.decode(errors="replace") for w in words if w).strip()
    return text[:80] or comm


def machine_ticks() -> dict[str, float]:
    """The machine's CPU seconds so far, all cores: busy (in processes), kernel interrupts,
    steal (taken by the hypervisor), total."""
    with open("/proc/stat", encoding="utf-8") as handle:
        ticks = [int(x) for x in handle.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq, steal = ticks[:8]
    return {
        "busy": (user + nice + system) / hz,
        "irq": (irq + softirq) / hz,
        "steal": steal / hz,
        "total": sum(ticks[:8]) / hz,
    }


def cpu_snapshot(processes: dict[str, int]) -> dict[str, Any]:
    return {
        "named": {name: pid for name, pid in processes.items()},
        "procs": process_cpu(),
        "machine": machine_ticks(),
    }


def cpu_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """CPU seconds between two snapshots: each of our processes, PostgreSQL and RabbitMQ (all
    their processes, ours or not), this client, anything else (by command name), kernel
    interrupts and steal. A process that started and ended in between is not seen: it is in
    `unseen`, with rounding."""
    own = os.getpid()
    names = {pid: name for name, pid in before["named"].items()}
    used: dict[str, float] = {name: 0.0 for name in before["named"]}
    used.update({"postgresql": 0.0, "rabbitmq": 0.0, "bench_client": 0.0})
    others: dict[str, float] = {}
    for pid, (comm, cpu) in after["procs"].items():
        earlier = before["procs"].get(pid)  # a kernel thread renames itself: same pid, same one
        delta = cpu - (earlier[1] if earlier and earlier[1] <= cpu else 0.0)
        if delta <= 0:
            continue
        if pid in names:
            used[names[pid]] += delta
        elif pid == own:
            used["bench_client"] += delta
        elif comm in PROGRAMS:
            used[PROGRAMS[comm]] += delta
        else:
            key = "kworker" if comm.startswith("kworker") else describe_process(pid, comm)
            others[key] = others.get(key, 0.0) + delta
    m0, m1 = before["machine"], after["machine"]
    busy = m1["busy"] - m0["busy"]
    out: dict[str, Any] = {k: round(v, 2) for k, v in used.items()}
    out["other_processes"] = round(sum(others.values()), 2)
    out["unseen"] = round(busy - sum(used.values()) - sum(others.values()), 2)
    out["kernel_irq"] = round(m1["irq"] - m0["irq"], 2)
    out["steal"] = round(m1["steal"] - m0["steal"], 2)
    out["machine_busy_share"] = round(
        (busy + out["kernel_irq"]) / max(1e-9, m1["total"] - m0["total"]), 2
    )
    out["top_other_processes"] = {
        k: round(v, 2) for k, v in sorted(others.items(), key=lambda kv: -kv[1])[:5]
    }
    return out


def memory(processes: dict[str, int]) -> dict[str, dict[str, float]]:
    out = {}
    for name, pid in processes.items():
        peak = intake_bench.proc_status_kib(pid, "VmHWM") or 0
        now = intake_bench.proc_status_kib(pid, "VmRSS") or 0
        out[name] = {"peak_rss_mib": round(peak / 1024, 1), "rss_end_mib": round(now / 1024, 1)}
    return out


# --- one run ---------------------------------------------------------------------------------


def parse_env(items: list[str]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """`KEY=VALUE` for every service, `service:KEY=VALUE` for one."""
    common: dict[str, str] = {}
    per: dict[str, dict[str, str]] = {}
    for item in items:
        name, _, value = item.partition("=")
        target, _, key = name.rpartition(":")
        (per.setdefault(target, {}) if target else common)[key] = value
    return common, per


def stage_figures(
    codes: list[str], start: dict[str, float], marks: dict[str, float]
) -> dict[str, Any]:
    values = [marks[c] - start[c] for c in codes if c in marks]
    summary: dict[str, Any] = latency_summary(values)
    summary["count"] = len(values)
    quarter = max(1, len(codes) // 4)
    summary["p50_by_quarter_ms"] = [
        latency_summary([marks[c] - start[c] for c in codes[i : i + quarter] if c in marks])[
            "p50_ms"
        ]
        for i in range(0, quarter * 4, quarter)
    ]
    summary["negative"] = sum(1 for v in values if v < 0)
    return summary


def open_loop_phase(
    args: argparse.Namespace,
    rate: float,
    stack: Stack,
    probe: Probe,
    maildir: Path | None,
    processes: dict[str, int],
    through_before: int,
) -> dict[str, Any]:
    """One open-loop phase on the running stack: `rate` submissions/s for `--rate-seconds`,
    then wait until they are through; its figures, from each submission's scheduled time."""
    print(f"open loop: {rate:g} submissions/s for {args.rate_seconds:g} s ...", flush=True)
    cpu_start = cpu_snapshot(processes)
    records = drive_open_loop(
        stack.url("intake"),
        stack.token("reception", COMMUNE),
        rate,
        args.rate_seconds,
        args.concurrency,
        args.max_seconds,
    )
    cpu_sent = cpu_snapshot(processes)
    expected = max(1, round(rate * args.rate_seconds))  # as drive_open_loop schedules them
    ok = [r for r in records if r["status"] == 201]
    through, counts, drain_s = probe.wait_through(through_before + len(ok), args.drain_timeout)
    cpu_through = cpu_snapshot(processes)
    time.sleep(0.5)  # a late duplicate, if any, is in the tables too
    marks = collect(probe, maildir)
    scheduled = {r["code"]: r["scheduled"] for r in ok}
    codes = [c for c, _ in sorted(scheduled.items(), key=lambda kv: kv[1])]
    first = min((r["scheduled"] for r in records), default=time.time())
    offered_window = expected / rate  # what keeping up exactly takes
    last_reply = max((r["replied"] for r in ok), default=first)
    complete = [c for c in codes if all(c in marks[m] for m in MARKS)]
    last_mark = max((max(marks[m][c] for m in MARKS) for c in complete), default=first)
    statuses: dict[str, int] = {}
    for r in records:
        statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
    missing = {m: sum(1 for c in codes if c not in marks[m]) for m in MARKS}
    checks: dict[str, Any] = {
        "scheduled": expected,
        "recorded": len(records),
        "replies_201": len(ok),
        "statuses": statuses,
        "first_failures": [
            {"status": r["status"], "body": r["code"]} for r in records if r["status"] != 201
        ][:5],
        "distinct_codes": len(scheduled),
        "went_through_within_deadline": through,
        "drain_s": round(drain_s, 2),
        "counts_at_end": counts,
        "missing": missing,
    }
    checks["ok"] = (
        len(ok) == expected and len(scheduled) == len(ok) and through and not any(missing.values())
    )
    return {
        "offered_per_s": rate,
        "seconds": args.rate_seconds,
        "achieved_per_s": round(len(ok) / max(offered_window, last_reply - first), 1),
        "latency_from_scheduled": latency_summary([r["from_scheduled"] for r in ok]),
        "post_latency": latency_summary([r["took"] for r in ok]),
        "send_lag": latency_summary([r["sent"] - r["scheduled"] for r in ok]),
        "propagation_from_scheduled": {m: stage_figures(codes, scheduled, marks[m]) for m in MARKS},
        "end_to_end_per_s": round(len(complete) / max(offered_window, last_mark - first), 1),
        "cpu_s": {
            "submitting": cpu_between(cpu_start, cpu_sent),
            "draining": cpu_between(cpu_sent, cpu_through),
        },
        "checks": checks,
    }


def measure(args: argparse.Namespace, resources: ExitStack) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="motcua-platform-bench-"))
    if not args.keep_workdir:
        resources.callback(shutil.rmtree, workdir, True)
    common_env, service_env = parse_env(args.env)
    notification_env: dict[str, str] = {"SMS_QUIET_HOURS": ""}
    if not args.default_rate_limits:
        notification_env["RATE_LIMITS"] = UNLIMITED
    sink = None
    maildir = None
    if args.email == "smtp":
        servers = load_servers()
        sink = servers.SmtpSink(workdir / "smtp")
        resources.callback(sink.stop)
        maildir = sink.maildir
        notification_env.update(
            EMAIL_TRANSPORT="smtp", SMTP_HOST=sink.host, SMTP_PORT=str(sink.port), SMTP_TLS="none"
        )
    notification_env.update(service_env.get("notification", {}))
    service_env["notification"] = notification_env

    broker = local_broker()
    stack = Stack(
        workdir / "stack", pg_url=args.pg_url, env=common_env, service_env=service_env, **broker
    )

    def close_stack() -> None:
        try:
            stack.close()
        except StackError as exc:
            print(f"cleaning up: {exc}", file=sys.stderr)

    resources.callback(close_stack)
    started = time.monotonic()
    stack.prepare()
    try:
        stack.start_all(*SERVICES)
        stack.start_adapter(BUS_AGENCY)
    except StackError as exc:
        raise BenchFailed(str(exc)) from exc
    startup_s = time.monotonic() - started
    probe = Probe(stack)
    resources.callback(probe.close)
    base = stack.url("intake")
    token = stack.token("reception", COMMUNE)

    if args.warmup:
        print(f"warm-up: {args.warmup} submissions ...", flush=True)
        warm, _ = drive(base, token, args.warmup, min(args.concurrency, args.warmup), 60)
        bad = [r for r in warm if r["status"] != 201]
        if bad:
            raise BenchFailed(f"warm-up failed: {bad[0]}\n{log_tail(stack.process('intake').log)}")
        done, counts, _ = probe.wait_through(args.warmup, 60)
        if not done:
            raise BenchFailed(f"the warm-up did not go through within 60 s: {counts}")

    print("reading the broker's counters before the measured phase ...", flush=True)
    work_before = work_snapshot(stack, probe)
    processes = pids(stack, sink)
    probe_before_ms = intake_bench.speed_probe_ms()
    cpu_start = cpu_snapshot(processes)
    print(
        f"driving {args.submissions:,} submissions at concurrency {args.concurrency} ...",
        flush=True,
    )
    records, wall_s = drive(base, token, args.submissions, args.concurrency, args.max_seconds)
    cpu_submitted = cpu_snapshot(processes)
    ok = [r for r in records if r["status"] == 201]
    print(f"waiting for {len(ok):,} dossiers to go through ...", flush=True)
    through, counts, drain_s = probe.wait_through(args.warmup + len(ok), args.drain_timeout)
    cpu_through = cpu_snapshot(processes)
    probe_after_ms = intake_bench.speed_probe_ms()
    time.sleep(0.5)  # a late duplicate, if any, is in the tables too
    mem = memory(processes)
    marks = collect(probe, maildir)
    events_per_dossier = {
        s: probe.rows(s, q)[0][0]
        for s, q in (
            ("intake", "SELECT count(*) FROM outbox_events"),
            ("routing", "SELECT count(*) FROM outbox_events"),
            ("notification", "SELECT count(*) FROM outbox_events"),
            ("reporting", "SELECT count(*) FROM events"),
        )
    }
    mail_files = len(list(maildir.glob("*.eml"))) if maildir is not None else None
    log_problems = {
        name: {
            level: sum(1 for r in iter_log_records(p.log) if r.get("level") == level)
            for level in ("warning", "error", "critical")
        }
        for name, p in stack.processes.items()
    }

    # --- figures ---
    sent = {r["code"]: r["sent"] for r in ok}
    replied = {r["code"]: r["replied"] for r in ok}
    codes = [c for c, _ in sorted(sent.items(), key=lambda kv: kv[1])]
    first = min((r["sent"] for r in records), default=0.0)
    last_reply = max((r["replied"] for r in records), default=0.0)
    span_s = last_reply - first
    propagation = {
        "from_submit": {m: stage_figures(codes, sent, marks[m]) for m in MARKS},
        "from_reply": {m: stage_figures(codes, replied, marks[m]) for m in MARKS},
        "steps_from_submit": {
            m: stage_figures(codes, sent, marks[m])
            for m in ("published", "receipt_queued", "receipt_smtp", "receipt_sms_sent")
        },
    }
    complete = [c for c in codes if all(c in marks[m] for m in MARKS)]
    last_mark = max((max(marks[m][c] for m in MARKS) for c in complete), default=first)
    e2e_s = last_mark - first
    stage_rates = {}
    for m in MARKS:
        times = [marks[m][c] for c in codes if c in marks[m]]
        stage_rates[m] = round(len(times) / (max(times) - first), 1) if times else 0.0

    statuses: dict[str, int] = {}
    for r in records:
        statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
    missing = {m: sum(1 for c in codes if c not in marks[m]) for m in (*MARKS, "reported_row")}
    checks = {
        "submissions_attempted": len(records),
        "replies_201": len(ok),
        "statuses": statuses,
        "first_failures": [
            {"status": r["status"], "body": r["code"]} for r in records if r["status"] != 201
        ][:5],
        "distinct_codes": len(sent),
        "went_through_within_deadline": through,
        "drain_s": round(drain_s, 2),
        "counts_at_end": counts,
        "missing": missing,
        "smtp_messages": mail_files,
        "log_lines_by_level": log_problems,
    }
    checks["ok"] = (
        len(records) == args.submissions
        and len(ok) == args.submissions
        and len(sent) == args.submissions
        and through
        and not any(missing.values())
    )
    submission = {
        "wall_s": round(wall_s, 3),
        "span_s": round(span_s, 3),
        "throughput_per_s": round(len(ok) / span_s, 1) if span_s > 0 else 0.0,
        "latency": latency_summary([r["took"] for r in ok]),
    }
    end_to_end = {
        "span_s": round(e2e_s, 3),
        "dossiers": len(complete),
        "throughput_per_s": round(len(complete) / e2e_s, 1) if e2e_s > 0 else 0.0,
        "stage_throughput_per_s": stage_rates,
    }
    figures: dict[str, Any] = {
        "startup_s": round(startup_s, 1),
        "submission": submission,
        "propagation": propagation,
        "end_to_end": end_to_end,
        "memory": mem,
        "cpu_s": {
            "submitting": cpu_between(cpu_start, cpu_submitted),
            "draining": cpu_between(cpu_submitted, cpu_through),
        },
        "rows_at_end": events_per_dossier,
        "speed_probe_ms": [probe_before_ms, probe_after_ms],
        "loadavg_after": os.getloadavg()[0],
        "checks": checks,
        "workdir": str(workdir) if args.keep_workdir else None,
    }
    print("reading the broker's counters after it ...", flush=True)
    figures["work_per_dossier"] = work_per_dossier(
        work_before, work_snapshot(stack, probe), len(ok)
    )

    # --- open loop: fixed arrival rates on the same stack, one phase after the other ---
    figures["open_loop"] = []
    through_so_far = args.warmup + len(ok)
    for rate in args.rates:
        phase = open_loop_phase(args, rate, stack, probe, maildir, processes, through_so_far)
        figures["open_loop"].append(phase)
        through_so_far += phase["checks"]["replies_201"]
        if not phase["checks"]["went_through_within_deadline"]:
            print("  not through within --drain-timeout: the higher rates are skipped", flush=True)
            break

    # --- the raw baselines, with the platform stopped so that they do not compete ---
    stack.stop_all()
    probe.close()
    if sink is not None:
        sink.stop()
    if args.no_baseline:
        for key in ("baseline", "baseline_minimal", "baseline_equal_work", "baseline_equal_writes"):
            figures[key] = {}
        return figures
    available = free_connections(args.pg_url) - 5  # room for the counter and other sessions
    threads = max(1, min(args.concurrency, available))
    print(f"running the raw baseline ({args.baseline_n:,} ops, {threads} threads) ...", flush=True)
    base_result = baseline.run(
        stack.database_url("intake"), stack.amqp_uri, args.baseline_n, threads
    )
    base_result["concurrency_requested"] = args.concurrency
    base_result["capped_by_free_connections"] = threads < args.concurrency
    figures["baseline"] = figures["baseline_minimal"] = base_result
    plan = figures["work_per_dossier"]["baseline"]
    # equal work: one row per commit; equal writes: as many rows as the platform wrote
    for key, rows in (("baseline_equal_work", None), ("baseline_equal_writes", plan["rows"])):
        print(
            f"running the {key.removeprefix('baseline_').replace('_', '-')} baseline "
            f"({args.equal_work_n:,} dossiers, {threads} threads; per dossier {plan['writes']} "
            f"commits writing {rows or plan['writes']} rows, {plan['confirmed_publishes']} "
            f"confirmed publishes, {plan['consumed_acked']} consumed) ...",
            flush=True,
        )
        equal = baseline.run_equal_work(
            stack.database_url("intake"),
            stack.amqp_uri,
            args.equal_work_n,
            threads,
            plan["confirmed_publishes"],
            plan["consumed_acked"],
            rows=rows,
        )
        equal["concurrency_requested"] = args.concurrency
        equal["capped_by_free_connections"] = threads < args.concurrency
        figures[key] = equal
    return figures


# --- the report ------------------------------------------------------------------------------


def open_loop_targets(phase: dict[str, Any]) -> dict[str, Any]:
    """An open-loop phase against the latency targets, from the scheduled send time; a phase
    whose dossiers did not all go through meets neither."""
    sub = phase["latency_from_scheduled"]["p99_ms"]
    prop = {m: phase["propagation_from_scheduled"][m]["p99_ms"] for m in MARKS}
    sub_ok = phase["checks"]["ok"] and sub < TARGETS["submission_p99_ms"]
    prop_ok = {
        m: phase["checks"]["ok"] and p < TARGETS["propagation_p99_ms"] for m, p in prop.items()
    }
    return {
        "offered_per_s": phase["offered_per_s"],
        "submission_p99_below_50_ms": sub_ok,
        "propagation_p99_below_1_s": prop_ok,
        "both": sub_ok and all(prop_ok.values()),
    }


def targets(result: dict[str, Any]) -> dict[str, Any]:
    sub = result["submission"]["latency"]["p99_ms"]
    prop = {m: result["propagation"]["from_submit"][m]["p99_ms"] for m in MARKS}
    ratio = result.get("ratio", {}).get("end_to_end")
    ratio_equal = result.get("ratio", {}).get("end_to_end_equal_work")
    ratio_writes = result.get("ratio", {}).get("end_to_end_equal_writes")
    phases = [open_loop_targets(phase) for phase in result.get("open_loop", [])]
    meeting = [t["offered_per_s"] for t in phases if t["both"]]
    return {
        "ratio_end_to_end_at_least_0.5": None if ratio is None else ratio >= 0.5,
        "ratio_end_to_end_equal_work_at_least_0.5": (
            None if ratio_equal is None else ratio_equal >= TARGETS["ratio_end_to_end"]
        ),
        "ratio_end_to_end_equal_writes_at_least_0.5": (
            None if ratio_writes is None else ratio_writes >= TARGETS["ratio_end_to_end"]
        ),
        "submission_p99_below_50_ms": sub < TARGETS["submission_p99_ms"],
        "propagation_p99_below_1_s": {
            m: p < TARGETS["propagation_p99_ms"] for m, p in prop.items()
        },
        "open_loop": phases,
        "open_loop_highest_rate_meeting_both": max(meeting, default=None),
    }


def summary(result: dict[str, Any]) -> str:
    cfg, m = result["config"], result["machine"]
    sub, e2e, checks = result["submission"], result["end_to_end"], result["checks"]
    lat = sub["latency"]
    cpu = result["cpu_s"]
    lines = [
        f"platform benchmark ({result['started_at']})",
        f"  code          {(result['code']['commit'] or 'unknown')[:12]}"
        + (" + local changes" if result["code"]["changed_files"] else ""),
        f"  machine       {m['nproc']} × {m['cpu_model']}, {m['memory_gib']} GiB, "
        f"PostgreSQL {m.get('postgresql_server_version')}, RabbitMQ {m.get('rabbitmq_version')}; "
        f"speed probe {result['speed_probe_ms'][0]:.1f} → {result['speed_probe_ms'][1]:.1f} ms",
        f"  load          {cfg['submissions']:,} birth bundles at the commune's desk, concurrency "
        f"{cfg['concurrency']}, warm-up {cfg['warmup']}; email {cfg['email']}, rate limits "
        f"{'config.yml' if cfg['default_rate_limits'] else 'lifted'}; "
        f"settings {cfg['env'] or 'config.yml defaults'}",
        f"  submissions   {sub['throughput_per_s']:,.1f}/s ({checks['replies_201']:,} in "
        f"{sub['span_s']:.1f} s); POST p50 {lat['p50_ms']:.0f} ms  p95 {lat['p95_ms']:.0f} ms  "
        f"p99 {lat['p99_ms']:.0f} ms  max {lat['max_ms']:.0f} ms",
        "  propagation   from the POST sent     p50       p95       p99       max   (p50 by quarter)",
    ]
    names = {
        "published": "intake published",
        "task_assigned": "task at the commune",
        "receipt_queued": "receipt queued",
        "receipt_sent": "receipt email sent",
        "receipt_smtp": "… written by SMTP",
        "receipt_sms_sent": "receipt SMS sent",
        "reported": "counted in reports",
    }
    rows = {**result["propagation"]["from_submit"], **result["propagation"]["steps_from_submit"]}
    for key in (
        "published",
        "task_assigned",
        "receipt_queued",
        "receipt_sent",
        "receipt_smtp",
        "receipt_sms_sent",
        "reported",
    ):
        f = rows[key]
        if not f["count"]:
            continue
        quarters = " / ".join(f"{q / 1000:.1f}" for q in f["p50_by_quarter_ms"])
        lines.append(
            f"    {names[key]:<22} {f['p50_ms'] / 1000:7.2f} s {f['p95_ms'] / 1000:7.2f} s "
            f"{f['p99_ms'] / 1000:7.2f} s {f['max_ms'] / 1000:7.2f} s   ({quarters} s)"
        )
    rates = e2e["stage_throughput_per_s"]
    lines.append(
        f"  end to end    {e2e['throughput_per_s']:,.1f} dossiers/s ({e2e['dossiers']:,} through "
        f"in {e2e['span_s']:.1f} s); by stage: task {rates['task_assigned']}/s, receipt "
        f"{rates['receipt_sent']}/s, reports {rates['reported']}/s"
    )
    mem = ", ".join(f"{k} {v['peak_rss_mib']:.0f}" for k, v in result["memory"].items())
    lines.append(f"  peak RSS MiB  {mem}")
    for phase in ("submitting", "draining"):
        c = cpu[phase]
        parts = ", ".join(
            f"{k.removesuffix('-0')} {v:.1f}"
            for k, v in c.items()
            if k not in ("machine_busy_share", "top_other_processes")
        )
        lines.append(f"  CPU s ({phase[:5]})  {parts}; machine {c['machine_busy_share']:.0%} busy")
    tick = "OK" if checks["ok"] else "FAILED"
    logged = checks["log_lines_by_level"]
    lines.append(
        f"  correctness   {tick}: {checks['replies_201']:,}/{cfg['submissions']:,} replies 201, "
        f"{checks['distinct_codes']:,} codes; missing {checks['missing']}; through in "
        f"{checks['drain_s']:.1f} s after the last reply; log lines warning/error "
        f"{sum(v['warning'] for v in logged.values())}/"
        f"{sum(v['error'] + v['critical'] for v in logged.values())}"
    )
    if checks["first_failures"]:
        lines.append(f"                first failures: {checks['first_failures']}")
    lines.extend(work_lines(result.get("work_per_dossier")))
    lines.extend(open_loop_lines(result.get("open_loop", [])))
    base = result["baseline"]
    if base:
        lines.append(f"  baseline      minimal: {baseline.describe(base)}")
        equal = result.get("baseline_equal_work")
        if equal:
            lines.append(f"                equal work: {baseline.describe_equal_work(equal)}")
        writes = result.get("baseline_equal_writes")
        if writes:
            lines.append(f"                equal writes: {baseline.describe_equal_work(writes)}")
        ratio = result["ratio"]
        lines.append(
            f"  ÷ baseline    minimal: submissions {ratio['submissions']:.3f}, end to end "
            f"{ratio['end_to_end']:.3f}; end to end ÷ equal work "
            f"{ratio.get('end_to_end_equal_work', 'n/a')}, ÷ equal writes "
            f"{ratio.get('end_to_end_equal_writes', 'n/a')}"
        )
    t = result["targets"]
    lines.append(
        f"  targets       ≥ 50 % of baseline end to end: minimal "
        f"{t['ratio_end_to_end_at_least_0.5']}, equal work "
        f"{t['ratio_end_to_end_equal_work_at_least_0.5']}, equal writes "
        f"{t['ratio_end_to_end_equal_writes_at_least_0.5']}; closed loop: submission p99 < 50 ms: "
        f"{t['submission_p99_below_50_ms']}; propagation p99 < 1 s: "
        f"{t['propagation_p99_below_1_s']}"
    )
    for phase in t["open_loop"]:
        lines.append(
            f"                open loop {phase['offered_per_s']:g}/s: submission p99 < 50 ms: "
            f"{phase['submission_p99_below_50_ms']}; propagation p99 < 1 s: "
            f"{phase['propagation_p99_below_1_s']}"
        )
    if t["open_loop"]:
        lines.append(
            "                highest open-loop rate meeting both: "
            + (f"{best:g}/s" if (best := t["open_loop_highest_rate_meeting_both"]) else "none")
        )
    return "\n".join(lines)


def work_lines(work: dict[str, Any] | None) -> list[str]:
    if not work:
        return []
    plan = work["baseline"]
    commits = ", ".join(f"{s} {c:.1f}" for s, c in work["xact_commit_upper_bound"].items())
    rows = ", ".join(f"{s} {r:.1f}" for s, r in work.get("rows_written", {}).items())
    return [
        f"  per dossier   {work['publishes']:.2f} published ({work['confirms']:.2f} confirmed), "
        f"{work['consumed_acked']:.2f} consumed + acked, {work['redelivered']:.2f} redelivered "
        f"(RabbitMQ vhost counters{'' if work['broker_settled'] else ', NOT settled'}); "
        f"DB commits (read-only ones too) {commits}; rows written {rows}",
        f"                equal-work baseline per dossier: {plan['writes']} commits (1 + one per "
        f"message consumed), {plan['confirmed_publishes']} confirmed publishes, "
        f"{plan['consumed_acked']} consumed + acked; equal writes: the same writing "
        f"{plan.get('rows', plan['writes'])} rows",
    ]


OPEN_LOOP_COLUMNS = (
    ("offered", 9),
    ("achieved", 9),
    ("POST p50", 10),
    ("p95", 7),
    ("p99", 7),
    ("max", 7),
    ("alone p99", 11),
    ("task p50/p99", 15),
    ("receipt p50/p99", 17),
    ("reports p50/p99", 17),
)


def open_loop_lines(phases: list[dict[str, Any]]) -> list[str]:
    """A table: per phase the rates, the POST latency (ms) from the scheduled time and alone,
    and the three stages' propagation (s) from the scheduled time."""
    if not phases:
        return []
    lines = [
        "  open loop   " + "".join(name.rjust(width) for name, width in OPEN_LOOP_COLUMNS),
        "                (POST latency in ms, propagation in s, both from each submission's "
        "scheduled send time; alone: the POST by itself)",
    ]
    for phase in phases:
        lat, alone = phase["latency_from_scheduled"], phase["post_latency"]
        prop = phase["propagation_from_scheduled"]
        cells = [
            f"{phase['offered_per_s']:g}/s",
            f"{phase['achieved_per_s']:.1f}/s",
            *(f"{lat[k]:.0f}" for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")),
            f"{alone['p99_ms']:.0f}",
            *(f"{prop[m]['p50_ms'] / 1000:.2f}/{prop[m]['p99_ms'] / 1000:.2f}" for m in MARKS),
        ]
        row = "".join(c.rjust(w) for c, (_, w) in zip(cells, OPEN_LOOP_COLUMNS, strict=True))
        checks = phase["checks"]
        if not checks["ok"]:
            row += (
                f"   FAILED: {checks['replies_201']}/{checks['scheduled']} replies 201, "
                f"missing {checks['missing']}"
            )
        lines.append("              " + row)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=2000, help="measured (2000)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=100,
        help="client threads (100; the open loop's pool too)",
    )
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured submissions first (50)")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=300,
        help="stop submitting after (300 s); open loop: skip what is this far behind schedule",
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=600, help="wait for propagation at most (600 s)"
    )
    parser.add_argument(
        "--baseline-n",
        type=int,
        default=None,
        help="minimal baseline ops (--submissions, at least 5000)",
    )
    parser.add_argument(
        "--equal-work-n",
        type=int,
        default=None,
        help="dossiers of the equal-work baseline (--submissions, at least 1000)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="neither baseline")
    parser.add_argument(
        "--rates",
        default="10,20,30",
        help="open-loop phases after the closed loop: submissions/s, comma-separated "
        '(10,20,30; "" for none)',
    )
    parser.add_argument(
        "--rate-seconds", type=float, default=30, help="length of each open-loop phase (30 s)"
    )
    parser.add_argument(
        "--email",
        choices=("smtp", "folder"),
        default="smtp",
        help="receipts to an SMTP server of the bench (default) or to a folder",
    )
    parser.add_argument(
        "--default-rate-limits",
        action="store_true",
        help="keep notification's RATE_LIMITS of config.yml (600 emails a minute)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="[SERVICE:]KEY=VALUE",
        help="a setting for every service, or for one (intake:INTAKE_MAX_WORKERS=20)",
    )
    parser.add_argument(
        "--pg-url", default=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--keep-workdir", action="store_true", help="keep logs and mail")
    args = parser.parse_args(argv)
    if args.submissions < 1 or args.concurrency < 1 or args.warmup < 0:
        parser.error("--submissions and --concurrency must be at least 1")
    if any("=" not in item for item in args.env):
        parser.error("--env takes [SERVICE:]KEY=VALUE")
    unknown = {t for t in parse_env(args.env)[1] if t not in SERVICES}
    if unknown:
        parser.error(f"--env: unknown service(s) {', '.join(sorted(unknown))}")
    try:
        args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    except ValueError:
        parser.error("--rates takes submissions/s separated by commas: 10,20,30")
    if any(r <= 0 for r in args.rates) or args.rate_seconds <= 0:
        parser.error("--rates and --rate-seconds must be positive")
    args.baseline_n = args.baseline_n or max(args.submissions, 5000)  # a few steady seconds
    args.equal_work_n = args.equal_work_n or max(args.submissions, 1000)

    idle_busy = busy_before_start()
    started_at = datetime.now(UTC)
    code = code_version()
    machine = {
        **host_machine(),
        **server_versions(args.pg_url, local_broker()["management_url"]),
        "cpu_busy_before_start": round(idle_busy, 2),
    }
    figures = measure_leaving_nothing(
        measure, args, "the processes, databases and vhost were", (BenchFailed, StackError)
    )
    if isinstance(figures, int):
        return figures
    result: dict[str, Any] = {
        "benchmark": "platform",
        "started_at": started_at.isoformat(timespec="seconds"),
        "config": {
            "submissions": args.submissions,
            "concurrency": args.concurrency,
            "warmup": args.warmup,
            "baseline_n": args.baseline_n,
            "equal_work_n": args.equal_work_n,
            "rates": args.rates,
            "rate_seconds": args.rate_seconds,
            "email": args.email,
            "default_rate_limits": args.default_rate_limits,
            "env": args.env,
            "receiving_unit": COMMUNE,
            "procedure": intake_bench.BIRTH_BUNDLE,
        },
        "machine": machine,
        "code": code,
        **figures,
    }
    base = figures["baseline"]
    if base and base.get("ops_per_s"):
        result["ratio"] = {
            "submissions": round(figures["submission"]["throughput_per_s"] / base["ops_per_s"], 3),
            "end_to_end": round(figures["end_to_end"]["throughput_per_s"] / base["ops_per_s"], 3),
        }
    equal = figures["baseline_equal_work"]
    if equal and equal.get("dossiers_per_s"):
        result.setdefault("ratio", {})["end_to_end_equal_work"] = round(
            figures["end_to_end"]["throughput_per_s"] / equal["dossiers_per_s"], 3
        )
    writes = figures["baseline_equal_writes"]
    if writes and writes.get("dossiers_per_s"):
        result.setdefault("ratio", {})["end_to_end_equal_writes"] = round(
            figures["end_to_end"]["throughput_per_s"] / writes["dossiers_per_s"], 3
        )
    result["targets"] = targets(result)
    out = write_results("platform", started_at, result)
    print(summary(result))
    print(f"  results       {out}")
    ok = (
        result["checks"]["ok"]
        and all(phase["checks"]["ok"] for phase in figures["open_loop"])
        and (not base or base["ok"])
        and (not equal or equal["ok"])
        and (not writes or writes["ok"])
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
