"""Benchmark of the whole platform: submissions through intake, and how soon the rest follows.

    .venv/bin/python bench/platform_bench.py                    # 2,000 submissions, 100 at a time
    .venv/bin/python bench/platform_bench.py --submissions 500 --concurrency 20
    .venv/bin/python bench/platform_bench.py --env intake:INTAKE_MAX_WORKERS=20 --env LOG_LEVEL=WARNING
    .venv/bin/python bench/platform_bench.py --email folder --default-rate-limits

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
fact is visible a few milliseconds after the time recorded. Then it stops the platform and runs
the raw baseline (bench/baseline.py: per operation an INSERT + COMMIT and a persistent publish
with confirm, one connection pair per thread) at the same concurrency, capped by PostgreSQL's free
connections, and gives platform ÷ baseline for the submissions and for end to end.

notification's RATE_LIMITS (an operator's budget at the mail and SMS provider: 600 emails a minute
by default, which would spread 2,000 receipts over 3+ minutes) are lifted for the run unless
`--default-rate-limits`, and SMS_QUIET_HOURS is empty so that day and night runs do the same work.

A summary is printed and the figures, with the machine, PostgreSQL and RabbitMQ versions, go to
bench/results/platform-<timestamp>.json. Everything started or created is removed at the end,
also on Ctrl-C, SIGTERM or an error. Only 127.0.0.1 is contacted. The targets of issue 6 (≥ 50 %
of the baseline end to end, submission p99 < 50 ms at 100 clients, propagation p99 < 1 s) are
reported as met or not; only failed checks (a reply not 201, a dossier not propagated) make the
exit status 1.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
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
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))

import baseline  # noqa: E402  (bench/ is the script's folder)
import intake_bench  # noqa: E402  (the machine and CPU helpers, the submission body)
import psycopg  # noqa: E402
import requests  # noqa: E402
from baseline import latency_summary  # noqa: E402
from platform_stack import (  # noqa: E402
    BUS_AGENCY,
    SERVICES,
    Stack,
    StackError,
    iter_log_records,
    log_tail,
)

RESULTS = REPO / "bench" / "results"
SERVERS = REPO / "services" / "notification" / "tests" / "support" / "servers.py"
COMMUNE = "000.00.08.H38"  # the receiving unit, and the birth bundle's first agency (worklist)
UNLIMITED = "email=1000000,sms=1000000,webhook=1000000"
TARGETS = {"ratio_end_to_end": 0.5, "submission_p99_ms": 50.0, "propagation_p99_ms": 1000.0}
MARKS = ("task_assigned", "receipt_sent", "reported")


class BenchFailed(Exception):
    pass


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


def drive(
    base: str, token: str, n: int, concurrency: int, max_seconds: float
) -> tuple[list[dict[str, Any]], float]:
    """N submissions from `concurrency` threads; one record per attempt (wall-clock `sent`, POST
    latency in seconds, status, dossier code) and the wall time of the whole."""
    work = [
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
    lock = threading.Lock()
    indexes = iter(range(n))
    records: list[dict[str, Any]] = []
    end_by = time.monotonic() + max_seconds

    def worker() -> None:
        with requests.Session() as session:
            session.trust_env = False  # an http_proxy of the shell must not capture 127.0.0.1
            while time.monotonic() < end_by:
                with lock:
                    i = next(indexes, None)
                if i is None:
                    return
                body, headers = work[i]
                sent = time.time()
                started = time.perf_counter()
                try:
                    reply = session.post(f"{base}/dossiers", data=body, headers=headers, timeout=60)
                    took = time.perf_counter() - started
                    status = reply.status_code
                    code = reply.json().get("code") if status == 201 else reply.text[:200]
                except (requests.RequestException, ValueError) as exc:
                    took, status, code = time.perf_counter() - started, 0, repr(exc)[:200]
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

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()

    def rows(self, service: str, query: str, params: Any = ()) -> list[tuple[Any, ...]]:
        return self.conns[service].execute(query, params).fetchall()

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


# --- processes: memory and CPU ---------------------------------------------------------------


def pids(stack: Stack, sink: Any) -> dict[str, int]:
    found = {name: p.pid for name, p in stack.processes.items() if p.alive() and p.pid}
    if sink is not None and sink.process.poll() is None:
        found["smtp-sink"] = sink.process.pid
    return found


PROGRAMS = {"postgres": "postgresql", "beam.smp": "rabbitmq"}


def process_cpu() -> dict[int, tuple[str, float]]:
    """{pid: (command name, CPU seconds so far)} of every process of the machine."""
    found = {}
    hz = os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="utf-8") as handle:
                raw = handle.read()
        except OSError:
            continue  # gone already
        fields = raw.rsplit(")", 1)[1].split()
        comm = raw[raw.find("(") + 1 : raw.rfind(")")]
        found[int(entry.name)] = (comm, (int(fields[11]) + int(fields[12])) / hz)
    return found


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


def broker_settings() -> dict[str, Any]:
    parts = urlsplit(os.environ.get("AMQP_URI") or "amqp://guest:guest@127.0.0.1:5672/")
    host = parts.hostname or "127.0.0.1"
    user, password = parts.username or "guest", parts.password or "guest"
    return {
        "amqp_host": host,
        "amqp_port": parts.port or 5672,
        "amqp_user": user,
        "amqp_password": password,
        "management_url": f"http://{user}:{password}@{host}:15672",
    }


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

    broker = broker_settings()
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

    # --- the raw baseline, with the platform stopped so that it does not compete ---
    stack.stop_all()
    probe.close()
    if sink is not None:
        sink.stop()
    if args.no_baseline:
        figures["baseline"] = {}
        return figures
    available = free_connections(args.pg_url) - 5  # room for the counter and other sessions
    threads = max(1, min(args.concurrency, available))
    print(f"running the raw baseline ({args.baseline_n:,} ops, {threads} threads) ...", flush=True)
    base_result = baseline.run(
        stack.database_url("intake"), stack.amqp_uri, args.baseline_n, threads
    )
    base_result["concurrency_requested"] = args.concurrency
    base_result["capped_by_free_connections"] = threads < args.concurrency
    figures["baseline"] = base_result
    return figures


# --- the report ------------------------------------------------------------------------------


def targets(result: dict[str, Any]) -> dict[str, Any]:
    sub = result["submission"]["latency"]["p99_ms"]
    prop = {m: result["propagation"]["from_submit"][m]["p99_ms"] for m in MARKS}
    ratio = result.get("ratio", {}).get("end_to_end")
    return {
        "ratio_end_to_end_at_least_0.5": None if ratio is None else ratio >= 0.5,
        "submission_p99_below_50_ms": sub < TARGETS["submission_p99_ms"],
        "propagation_p99_below_1_s": {
            m: p < TARGETS["propagation_p99_ms"] for m, p in prop.items()
        },
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
    base = result["baseline"]
    if base:
        lines.append(f"  baseline      {baseline.describe(base)}")
        ratio = result["ratio"]
        lines.append(
            f"  ÷ baseline    submissions {ratio['submissions']:.3f}, end to end "
            f"{ratio['end_to_end']:.3f}"
        )
    t = result["targets"]
    lines.append(
        f"  targets       ≥ 50 % of baseline end to end: {t['ratio_end_to_end_at_least_0.5']}; "
        f"submission p99 < 50 ms: {t['submission_p99_below_50_ms']}; propagation p99 < 1 s: "
        f"{t['propagation_p99_below_1_s']}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=2000, help="measured (2000)")
    parser.add_argument("--concurrency", type=int, default=100, help="client threads (100)")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured submissions first (50)")
    parser.add_argument("--max-seconds", type=float, default=300, help="stop submitting after")
    parser.add_argument(
        "--drain-timeout", type=float, default=600, help="wait for propagation at most (600 s)"
    )
    parser.add_argument(
        "--baseline-n", type=int, default=None, help="baseline ops (--submissions, at least 5000)"
    )
    parser.add_argument("--no-baseline", action="store_true")
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
    args.baseline_n = args.baseline_n or max(args.submissions, 5000)  # a few steady seconds

    def on_term(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    busy_before, total_before = intake_bench.machine_busy_seconds()
    time.sleep(1)
    busy_after, total_after = intake_bench.machine_busy_seconds()
    idle_busy = (busy_after - busy_before) / max(1e-9, total_after - total_before)
    if idle_busy > 0.25:
        print(
            f"note: {idle_busy:.0%} of the CPU is busy before the bench starts: something else "
            "is running here, the figures will be lower than on a quiet machine",
            flush=True,
        )
    started_at = datetime.now(UTC)
    code = code_version()
    machine = {
        **intake_bench.machine(),
        **server_versions(args.pg_url, broker_settings()["management_url"]),
        "cpu_busy_before_start": round(idle_busy, 2),
    }
    resources = ExitStack()
    try:
        figures = measure(args, resources)
    except KeyboardInterrupt:
        figures = {"interrupted": True}
    except (BenchFailed, StackError) as exc:
        figures = {"failed": str(exc)}
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not stop clean-up
            signal.signal(signum, signal.SIG_IGN)
        resources.close()
    if figures.get("interrupted"):
        print("\ninterrupted: the processes, databases and vhost were removed", file=sys.stderr)
        return 130
    if figures.get("failed"):
        print(f"bench failed: {figures['failed']}", file=sys.stderr)
        return 1
    result: dict[str, Any] = {
        "benchmark": "platform",
        "started_at": started_at.isoformat(timespec="seconds"),
        "config": {
            "submissions": args.submissions,
            "concurrency": args.concurrency,
            "warmup": args.warmup,
            "baseline_n": args.baseline_n,
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
    result["targets"] = targets(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"platform-{started_at:%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(summary(result))
    print(f"  results       {out}")
    ok = result["checks"]["ok"] and (not base or base["ok"])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
