"""Benchmark of intake's reception: throughput, latency and event propagation of POST /dossiers.

    make bench                                        # 2,000 submissions, 50 at a time
    .venv/bin/python bench/intake_bench.py --n 500 --concurrency 20 --units 5
    .venv/bin/python bench/intake_bench.py --env INTAKE_MAX_WORKERS=20 --env INTAKE_DB_POOL_SIZE=20
    .venv/bin/python bench/intake_bench.py --retained-events 100000   # an outbox a week old

It starts intake as production does (`python -m motcua_kit.run ... intake.service`, config.yml
defaults) on a free port, against a throw-away database (migrated, catalogue loaded) and a
throw-away RabbitMQ vhost, then submits birth-bundle dossiers from `--concurrency` threads, each
with its own Idempotency-Key and applicant. It measures submissions/s, the latency of each POST,
and how long after the reply the `dossier.received` event reaches a durable queue bound to
`intake.events`; it checks every reply, every code, every event and the outbox on the way. Then it
stops intake and runs the raw baseline (bench/baseline.py) at the same concurrency.

A summary is printed and the figures are written to bench/results/intake-<timestamp>.json. The
database, the vhost and the process are removed at the end, also on Ctrl-C or an error. Only
127.0.0.1 is contacted. See docs/performance.md for what the figures mean.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for path in (REPO / "kit", REPO / "services" / "intake"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import baseline  # noqa: E402  (bench/ is the script's folder)
import pika  # noqa: E402
import psycopg  # noqa: E402
import requests  # noqa: E402
from baseline import latency_summary  # noqa: E402
from common import (  # noqa: E402
    BenchFailed,
    busy_before_start,
    machine,
    machine_busy_seconds,
    measure_leaving_nothing,
    process_cpu,
    write_results,
)
from intake.catalogue_loader import load as load_catalogue  # noqa: E402
from motcua_kit.local_issuer import shared_issuer  # noqa: E402
from motcua_kit.migrate import migrate_service  # noqa: E402

MIGRATIONS = REPO / "services" / "intake" / "migrations"
CONFIG = "services/intake/config.yml"
# The run's token issuer (real keys, a JWKS over HTTP): `issuer().token(...)`.
issuer = shared_issuer


BIRTH_BUNDLE = "2.000986"
TAP_QUEUE = "bench.tap"
# Settings the service would otherwise take from this shell: the bench runs config.yml's defaults
# unless --env says otherwise, so that runs on different shells compare.
TUNABLES = (
    "INTAKE_DB_POOL_SIZE",
    "INTAKE_MAX_WORKERS",
    "OUTBOX_POLL_SECONDS",
    "OUTBOX_MAX_BACKOFF_SECONDS",
    "LOG_LEVEL",
    "OIDC_ISSUER",
    "OIDC_JWKS_URL",
    "INTAKE_PUBLIC_URL",
    "CALENDAR_FILE",
)


# --- the machine -----------------------------------------------------------------------------


def speed_probe_ms() -> float:
    """A CPU speed probe: milliseconds for 20,000 rounds of PBKDF2-SHA256, right now.

    A VM's speed drifts; runs are comparable only when their probes are close.
    """
    rounds = 20
    started = time.perf_counter()
    for i in range(rounds):
        hashlib.pbkdf2_hmac("sha256", b"123456", f"PROBE-{i}".encode(), 20_000)
    return round((time.perf_counter() - started) * 1000 / rounds, 2)


def proc_status_kib(pid: int, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_program() -> dict[str, float]:
    """CPU seconds so far of PostgreSQL's and RabbitMQ's processes (all of them, ours or not)."""
    totals = {"postgresql": 0.0, "rabbitmq": 0.0}
    for comm, seconds in process_cpu().values():
        key = "postgresql" if comm == "postgres" else "rabbitmq" if comm == "beam.smp" else None
        if key:
            totals[key] += seconds
    return totals


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def code_version() -> dict[str, Any]:
    """The commit measured, and whether kit/ or intake's files differ from it."""

    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return done.stdout.strip()

    try:
        changed = git("status", "--porcelain", "--", "kit", "services/intake")
        return {"commit": git("rev-parse", "HEAD"), "changed_files": changed.splitlines()}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "changed_files": []}


# --- the service under test -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_intake(
    database_url: str, amqp_uri: str, port: int, log_path: Path, overrides: dict[str, str]
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in TUNABLES}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(REPO / "kit"), str(REPO / "services" / "intake")]),
            "PSYCOPG_WAIT_FUNC": "wait_select",
            "INTAKE_HTTP_ADDRESS": "127.0.0.1",
            "INTAKE_PORT": str(port),
            "INTAKE_DATABASE_URL": database_url,
            "AMQP_URI": amqp_uri,
            **issuer().config(),
            "LOOKUP_PIN_KEY": uuid.uuid4().hex,
            **overrides,
        }
    )
    command = [sys.executable, "-m", "motcua_kit.run", "--config", CONFIG, "intake.service"]
    with open(log_path, "wb") as log:
        return subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop_intake(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # nameko stops gracefully on SIGTERM
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_healthy(process: subprocess.Popen[bytes], base: str, log_path: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < 30:
        if process.poll() is not None:
            raise BenchFailed(f"intake exited with {process.returncode}:\n{log_tail(log_path)}")
        try:
            if requests.get(f"{base}/health", timeout=2).status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise BenchFailed(f"intake did not become healthy within 30 s:\n{log_tail(log_path)}")


def outbox_backlog(database_url: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM outbox_events WHERE published_at IS NULL"
        ).fetchone()
    return int(row[0]) if row else -1


def retain_published_events(database_url: str, rows: int) -> None:
    """Published outbox rows of the last days, as a service that has run a while keeps them."""
    payload = json.dumps({"data": {"note": "x" * 1200}})
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO outbox_events (id, type, subject, payload, created_at, published_at) "
            "SELECT gen_random_uuid(), 'dossier.received', 'old-' || g, %s::jsonb, "
            " now() - interval '1 day', now() - interval '1 day' FROM generate_series(1, %s) g",
            (payload, rows),
        )
        conn.execute("VACUUM ANALYZE outbox_events")


# --- the event tap ---------------------------------------------------------------------------


class Tap(threading.Thread):
    """A durable queue bound to intake.events for dossier.received, read with pika."""

    def __init__(self, amqp_uri: str) -> None:
        super().__init__(daemon=True, name="tap")
        self.params = pika.URLParameters(amqp_uri)
        self.events: list[tuple[float, str, str]] = []  # (arrival, event id, subject)
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            connection = pika.BlockingConnection(self.params)
            try:
                channel = connection.channel()
                # Declared as the outbox relay declares it, so whichever comes first, both agree.
                channel.exchange_declare("intake.events", exchange_type="topic", durable=True)
                channel.queue_declare(TAP_QUEUE, durable=True)
                channel.queue_bind(TAP_QUEUE, "intake.events", routing_key="dossier.received")
                channel.basic_consume(TAP_QUEUE, self.on_message, auto_ack=True)
                self.ready.set()
                while not self.stopping.is_set():
                    connection.process_data_events(time_limit=0.1)
            finally:
                if connection.is_open:
                    connection.close()
        except BaseException as exc:
            self.error = exc
            self.ready.set()

    def on_message(self, _channel: Any, _method: Any, properties: Any, body: bytes) -> None:
        arrived = time.monotonic()
        self.events.append((arrived, str(properties.message_id), json.loads(body)["subject"]))


# --- the load --------------------------------------------------------------------------------


def submission_body() -> bytes:
    digits = "".join(random.choices("0123456789", k=12))
    body = {
        "applicant": {
            "name": random.choice(["Nguyễn Thị Ánh Tuyết", "Trần Văn Minh", "Lê Hoàng Nam"]),
            "citizen_id": digits,
            "phone": "09" + digits[-8:],
            "email": f"cd{uuid.uuid4().hex[:10]}@example.vn",
            "address": "Thôn 1, xã Thạch Bình, tỉnh Hà Tĩnh",
        },
        "procedure_code": BIRTH_BUNDLE,
        "documents": [
            {"code": "to-khai-lien-thong", "copies": 1},
            {"code": "giay-chung-sinh", "copies": 1},
        ],
        "channel": "desk",
        "return_method": "desk",
        "note": "Công dân nộp trực tiếp tại bộ phận một cửa",
    }
    return json.dumps(body, ensure_ascii=False).encode()


def tokens(units: int) -> list[str]:
    return [
        issuer().token(
            sub=f"bench-officer-{i}",
            name="Cán bộ bench",
            unit=f"BENCH{i:02d}.{uuid.uuid4().hex[:4].upper()}",
            roles=["reception"],
        )
        for i in range(units)
    ]


def drive(
    base: str, n: int, concurrency: int, units: int, max_seconds: float
) -> tuple[list[dict[str, Any]], float]:
    """N submissions from `concurrency` threads; returns one record per attempt and the wall time."""
    signed = tokens(units)
    work = [
        (
            submission_body(),
            {
                "Content-Type": "application/json",
                "Idempotency-Key": str(uuid.uuid4()),
                "Authorization": f"Bearer {signed[i % units]}",
            },
        )
        for i in range(n)
    ]
    lock = threading.Lock()
    indexes = iter(range(n))
    records: list[dict[str, Any]] = []
    end_by = time.monotonic() + max_seconds

    def worker() -> None:
        with requests.Session() as session:
            while time.monotonic() < end_by:
                with lock:
                    i = next(indexes, None)
                if i is None:
                    return
                body, headers = work[i]
                started = time.monotonic()
                try:
                    reply = session.post(f"{base}/dossiers", data=body, headers=headers, timeout=30)
                    replied = time.monotonic()
                    status = reply.status_code
                    code = reply.json().get("code") if status == 201 else reply.text[:200]
                except (requests.RequestException, ValueError) as exc:
                    replied, status, code = time.monotonic(), 0, repr(exc)[:200]
                with lock:
                    records.append(
                        {"sent": started, "replied": replied, "status": status, "code": code}
                    )

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive() and time.monotonic() < end_by + 35:
            thread.join(timeout=0.2)
    return records, time.monotonic() - started


# --- one run ---------------------------------------------------------------------------------


def measure(args: argparse.Namespace, stack: ExitStack) -> dict[str, Any]:
    name = baseline.bench_name()
    database_url = f"{baseline.PG_URL}/{name}"
    stack.callback(baseline.drop_database, name)
    migrate_service(database_url, "intake", MIGRATIONS)
    load_catalogue(database_url)
    if args.retained_events:
        retain_published_events(database_url, args.retained_events)
    amqp_uri = stack.enter_context(baseline.throwaway_vhost(name))

    workdir = Path(tempfile.mkdtemp(prefix="motcua-bench-"))
    stack.callback(shutil.rmtree, workdir, True)
    log_path = workdir / "intake.log"
    port = free_port()
    overrides = dict(item.split("=", 1) for item in args.env)
    process = start_intake(database_url, amqp_uri, port, log_path, overrides)
    stack.callback(stop_intake, process)
    base = f"http://127.0.0.1:{port}"
    startup_s = wait_healthy(process, base, log_path)

    tap = Tap(amqp_uri)
    tap.start()
    stack.callback(tap.join, 5)
    stack.callback(tap.stopping.set)
    if not tap.ready.wait(15) or tap.error is not None:
        raise BenchFailed(f"the event tap could not start: {tap.error!r}")

    if args.warmup:
        warm, _ = drive(base, args.warmup, min(args.concurrency, args.warmup), args.units, 30)
        if any(r["status"] != 201 for r in warm):
            bad = next(r for r in warm if r["status"] != 201)
            raise BenchFailed(f"warm-up failed: {bad}\n{log_tail(log_path)}")
    probe_before_ms = speed_probe_ms()
    rss_before_kib = proc_status_kib(process.pid, "VmRSS")
    cpu_before = cpu_seconds(process.pid)
    client_before = own_cpu_seconds()
    busy_before, total_before = machine_busy_seconds()
    programs_before = cpu_by_program()

    print(f"driving {args.n:,} submissions at concurrency {args.concurrency} ...", flush=True)
    records, wall_s = drive(base, args.n, args.concurrency, args.units, args.max_seconds)
    service_cpu_s = cpu_seconds(process.pid) - cpu_before
    client_cpu_s = own_cpu_seconds() - client_before
    busy_after, total_after = machine_busy_seconds()
    programs = {k: v - programs_before[k] for k, v in cpu_by_program().items()}
    machine_busy = (busy_after - busy_before) / max(1e-9, total_after - total_before)
    # Whatever else ran on the machine meanwhile (another session's tests, say).
    others_cpu_s = (
        (busy_after - busy_before) - service_cpu_s - client_cpu_s - sum(programs.values())
    )

    probe_after_ms = speed_probe_ms()

    # Every event of the measured submissions, then an empty outbox (both with a deadline).
    codes = {r["code"]: r for r in records if r["status"] == 201}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if {s for _, _, s in list(tap.events)} >= codes.keys():
            break
        time.sleep(0.05)
    deadline = time.monotonic() + 10
    while (backlog := outbox_backlog(database_url)) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.3)  # a duplicate, if any, would arrive right behind the original
    peak_rss_kib = proc_status_kib(process.pid, "VmHWM")
    rss_end_kib = proc_status_kib(process.pid, "VmRSS")

    ok_records = [r for r in records if r["status"] == 201]
    measured = [e for e in tap.events if e[2] in codes]
    first_arrival: dict[str, float] = {}
    for arrived, _event_id, subject in measured:
        first_arrival.setdefault(subject, arrived)
    by_reply = sorted((r["replied"], c) for c, r in codes.items() if c in first_arrival)
    propagation = [first_arrival[c] - replied for replied, c in by_reply]
    quarter = max(1, len(propagation) // 4)
    statuses: dict[str, int] = {}
    for r in records:
        statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
    event_ids = {event_id for _, event_id, _ in measured}
    checks = {
        "submissions_attempted": len(records),
        "replies_201": len(ok_records),
        "statuses": statuses,
        "first_failures": [
            {"status": r["status"], "body": r["code"]} for r in records if r["status"] != 201
        ][:5],
        "distinct_codes": len(codes),
        "events_received": len(measured),
        "distinct_event_ids": len(event_ids),
        "codes_without_event": len(codes.keys() - first_arrival.keys()),
        "outbox_unpublished_at_end": backlog,
    }
    checks["ok"] = (
        len(records) == args.n
        and len(ok_records) == args.n
        and len(codes) == args.n
        and len(measured) == args.n
        and len(event_ids) == args.n
        and checks["codes_without_event"] == 0
        and backlog == 0
    )

    sent = min((r["sent"] for r in records), default=0.0)
    last = max((r["replied"] for r in records), default=0.0)
    span_s = last - sent
    intake = {
        "startup_s": round(startup_s, 2),
        "wall_s": round(wall_s, 3),
        "span_s": round(span_s, 3),
        "throughput_per_s": round(len(ok_records) / span_s, 1) if span_s > 0 else 0.0,
        "latency": latency_summary([r["replied"] - r["sent"] for r in ok_records]),
        "propagation": latency_summary(propagation),
        # Growing from one quarter of the run to the next means the relay falls behind.
        "propagation_p50_by_quarter_ms": [
            latency_summary(propagation[i : i + quarter])["p50_ms"]
            for i in range(0, quarter * 4, quarter)
        ],
        "propagation_negative": sum(1 for p in propagation if p < 0),
        "service_cpu_s": round(service_cpu_s, 2),
        "service_cpu_share_of_one_core": round(service_cpu_s / span_s, 2) if span_s > 0 else 0.0,
        "service_cpu_ms_per_submission": round(service_cpu_s * 1000 / max(1, len(ok_records)), 2),
        "client_cpu_s": round(client_cpu_s, 2),
        "machine_cpu_busy_share": round(machine_busy, 2),
        "postgresql_cpu_s": round(programs["postgresql"], 2),
        "rabbitmq_cpu_s": round(programs["rabbitmq"], 2),
        "others_cpu_s": round(others_cpu_s, 2),
        "loadavg_after": os.getloadavg()[0],
        "speed_probe_ms": [probe_before_ms, probe_after_ms],
        "peak_rss_mib": round((peak_rss_kib or 0) / 1024, 1),
        "rss_after_warmup_mib": round((rss_before_kib or 0) / 1024, 1),
        "rss_end_mib": round((rss_end_kib or 0) / 1024, 1),
    }

    # The floor: the same durable work without the platform, on the same broker and database,
    # with intake stopped so that it does not compete for the CPU.
    stop_intake(process)
    tap.stopping.set()
    tap.join(5)
    base_result = {}
    if not args.no_baseline:
        print("running the raw baseline ...", flush=True)
        base_result = baseline.run(database_url, amqp_uri, args.baseline_n, args.concurrency)
    return {"intake": intake, "checks": checks, "baseline": base_result}


def summary(result: dict[str, Any]) -> str:
    cfg, m, intake, checks, base = (
        result["config"],
        result["machine"],
        result["intake"],
        result["checks"],
        result["baseline"],
    )
    lat, prop = intake["latency"], intake["propagation"]
    tick = "OK" if checks["ok"] else "FAILED"
    lines = [
        f"intake reception benchmark ({result['started_at']})",
        f"  code          {(result['code']['commit'] or 'unknown')[:12]}"
        + (" + local changes" if result["code"]["changed_files"] else ""),
        f"  machine       {m['nproc']} × {m['cpu_model']}, {m['memory_gib']} GiB, Python {m['python']}; "
        f"speed probe {intake['speed_probe_ms'][0]:.1f} → {intake['speed_probe_ms'][1]:.1f} ms",
        f"  load          {cfg['n']:,} birth-bundle submissions, concurrency {cfg['concurrency']}, "
        f"{cfg['units']} receiving unit(s), warm-up {cfg['warmup']}",
        f"  service       settings {cfg['service_overrides'] or 'of config.yml (defaults)'}, "
        f"{cfg['retained_events']:,} retained outbox rows, started in {intake['startup_s']:.1f} s",
        f"  throughput    {intake['throughput_per_s']:,.1f} submissions/s "
        f"({checks['replies_201']:,} in {intake['span_s']:.1f} s)",
        f"  POST latency  p50 {lat['p50_ms']:.0f} ms   p95 {lat['p95_ms']:.0f} ms   "
        f"p99 {lat['p99_ms']:.0f} ms   max {lat['max_ms']:.0f} ms",
        f"  propagation   p50 {prop['p50_ms']:.1f} ms   p95 {prop['p95_ms']:.1f} ms   "
        f"p99 {prop['p99_ms']:.1f} ms   (reply → dossier.received on a bound queue)",
        f"  service use   peak RSS {intake['peak_rss_mib']:.0f} MiB; CPU {intake['service_cpu_s']:.1f} s "
        f"= {intake['service_cpu_share_of_one_core']:.0%} of one core, "
        f"{intake['service_cpu_ms_per_submission']:.1f} ms per submission",
        f"  machine load  {intake['machine_cpu_busy_share']:.0%} of all cores busy while driving "
        f"({m['cpu_busy_before_start']:.0%} before start); CPU s: intake "
        f"{intake['service_cpu_s']:.1f}, PostgreSQL {intake['postgresql_cpu_s']:.1f}, "
        f"RabbitMQ {intake['rabbitmq_cpu_s']:.1f}, bench client {intake['client_cpu_s']:.1f}, "
        f"other {intake['others_cpu_s']:.1f}",
        f"  correctness   {tick}: {checks['replies_201']:,}/{cfg['n']:,} replies 201, "
        f"{checks['distinct_codes']:,} distinct codes, {checks['events_received']:,} events "
        f"({checks['distinct_event_ids']:,} distinct ids, {checks['codes_without_event']} missing), "
        f"outbox unpublished at end: {checks['outbox_unpublished_at_end']}",
    ]
    if checks["first_failures"]:
        lines.append(f"                first failures: {checks['first_failures']}")
    if base:
        lines.append(f"  baseline      {baseline.describe(base)}")
        lines.append(f"  intake ÷ baseline  {result['intake_over_baseline']:.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="measured submissions (2000)")
    parser.add_argument("--concurrency", type=int, default=50, help="client threads (50)")
    parser.add_argument("--units", type=int, default=1, help="receiving units to spread over (1)")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured submissions first (50)")
    parser.add_argument("--max-seconds", type=float, default=90, help="stop submitting after (90)")
    parser.add_argument(
        "--baseline-n", type=int, default=None, help="baseline ops (--n, at least 5000)"
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--retained-events",
        type=int,
        default=0,
        metavar="ROWS",
        help="published outbox rows present at start, as after days of traffic (0)",
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="service setting"
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.concurrency < 1 or args.units < 1:
        parser.error("--n, --concurrency and --units must be at least 1")
    if any("=" not in item for item in args.env):
        parser.error("--env takes KEY=VALUE")
    args.baseline_n = args.baseline_n or max(args.n, 5000)  # a few seconds, to be steady

    idle_busy = busy_before_start()
    started_at = datetime.now(UTC)
    code = code_version()  # before the run: the files may change while it runs
    figures = measure_leaving_nothing(measure, args, "the service, database and vhost were")
    if isinstance(figures, int):
        return figures
    result: dict[str, Any] = {
        "benchmark": "intake reception",
        "started_at": started_at.isoformat(timespec="seconds"),
        "config": {
            "n": args.n,
            "concurrency": args.concurrency,
            "units": args.units,
            "warmup": args.warmup,
            "baseline_n": args.baseline_n,
            "retained_events": args.retained_events,
            "service_overrides": dict(item.split("=", 1) for item in args.env),
        },
        "machine": {**machine(), "cpu_busy_before_start": round(idle_busy, 2)},
        "code": code,
        **figures,
    }
    base = figures["baseline"]
    result["intake_over_baseline"] = (
        round(figures["intake"]["throughput_per_s"] / base["ops_per_s"], 3)
        if base and base["ops_per_s"]
        else None
    )
    out = write_results("intake", started_at, result)
    print(summary(result))
    print(f"  results       {out}")
    ok = result["checks"]["ok"] and (not base or base["ok"])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
