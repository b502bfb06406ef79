"""The framework's floor: what one consumed message, one outbox publish and one HTTP request cost.

    .venv/bin/python bench/floor_bench.py                  # every phase, 5,000 events each
    .venv/bin/python bench/floor_bench.py --phases bc --n 3000
    .venv/bin/python bench/floor_bench.py --http-threads 50 --http-seconds 5

Why. The whole platform does, per dossier, 1 HTTP POST, 5 confirmed publishes (outbox relays)
and 9 consumed + acked messages. A raw pika + psycopg client doing that durable work is several
times faster than the platform. This bench measures the cost of the building blocks alone, with
handlers that do (almost) nothing, so that "can the platform reach X % of the raw figure with
nameko and eventlet?" can be answered from a floor: no business code can make a message cheaper
than the framework's own cost of carrying it.

How. On a throw-away RabbitMQ vhost and a throw-away PostgreSQL database (migrated with the kit's
tables: outbox, inbox, timers; plus one table `floor_items`), each phase runs one tiny nameko
service as its own process, the way production does (`python -m motcua_kit.run --config <yml>
<module>`, a config.yml with the real services' keys and defaults: DB_POOL_SIZE 10, max_workers 10,
LOGGING at INFO through the kit's JSON formatter). The kit services (b-e) carry what every real
service carries: `Database` (with its outbox relay), `Config`, `EntrypointMetrics` and the ops
endpoints (/health, /metrics). The phases:

  a  nameko's own `@event_handler`, body empty (no kit at all);
  b  the kit's `@consume`, body empty: decode, inbox claim (one INSERT), commit, ack;
  c  the kit's `@consume` whose body does one `uow.emit(...)`: as (b) plus an outbox INSERT in the
     same transaction, then the service's relay publishes it with a confirm (to a durable tap
     queue, so the broker persists it as it would for a real subscriber) and marks it published;
  d  the kit's `@http` POST (bearer token checked, small JSON body loaded through a marshmallow
     schema, 201 JSON answer), no database work; 100 client threads, one requests.Session each;
  e  as (d) plus one INSERT + commit through the UnitOfWork.

Consumer phases (a-c): the service starts and declares its queue; a warm-up batch (`--warmup`)
goes through first (the pool's connections open, psycopg prepares its statements); then the
service is frozen (SIGSTOP), N persistent CloudEvents (dossier.received-sized) are published to
`floor_source.events` (in AMQP transactions), the CPU counters are read, the service is thawed
(SIGCONT) and the clock runs until all N are through (a: its queue empty; b: N inbox rows;
c: N events in the tap queue). So neither the start-up nor the publishing client is counted.
HTTP phases (d, e): `--http-threads` clients for a short warm-up, then `--http-seconds` measured.

Figures per phase: items/s; CPU per item (ms) of the service process (/proc/<pid>/stat utime +
stime), of the PostgreSQL backends connected to the bench's database ("PG db": attributable to
us alone), of the other PostgreSQL processes (WAL writer, checkpointer... and other people's
backends: "PG shared"), of RabbitMQ (beam.smp: the whole broker, shared with anyone else using
it) raw and less the rate measured in an idle probe before the phases, of the bench client, and
of everything else on the machine (a busy machine shows there). The composite per dossier is
1 × (d or e) + 9 × b + 5 × (c − b), and "at most X dossiers/s" is the machine's cores ÷ that CPU.
Two things it leaves out are shown beside it: the broker's cost of enqueueing the 4 fan-out copies
(9 deliveries from 5 publishes; measured while a frozen service's batch is published), and the
shared PostgreSQL processes. Every phase runs saturated (a full queue, all workers busy), where
reads, commits and the relay's drains are batched best: a floor, not what a lightly loaded
platform pays per message.

A summary is printed and the figures go to bench/results/floor-<UTC timestamp>.json. Every
process, the vhost, the database and the work folder are removed at the end, also on Ctrl-C,
SIGTERM or an error. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from string import Template
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO / "tests", REPO / "kit"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import baseline  # noqa: E402  (bench/ is the script's folder)
import pika  # noqa: E402
import platform_bench  # noqa: E402  (per-process CPU, versions)
import psycopg  # noqa: E402
import requests  # noqa: E402
import yaml  # noqa: E402
from baseline import latency_summary  # noqa: E402
from common import BenchFailed, measure_leaving_nothing, process_cpu, write_results  # noqa: E402
from common import machine as host_machine  # noqa: E402
from motcua_kit.local_issuer import LocalIssuer  # noqa: E402
from motcua_kit.migrate import migrate_service  # noqa: E402
from platform_stack import Process, free_port, log_tail  # noqa: E402

SOURCE = "floor_source"  # the events exchange the consumer phases read: floor_source.events
TAP_QUEUE = "floor.tap"  # where phase c's relayed events land (a durable queue, never read)
SETTLE_SECONDS = 0.5  # idle time after a warm-up, before the measured batch
POLL_SECONDS = 0.025


# --- the services under test -----------------------------------------------------------------

PLAIN_SERVICE = '''"""Phase a: nameko's own event handler, doing nothing."""

from nameko.events import event_handler


class FloorPlain:
    name = "floor_plain"

    @event_handler("floor_source", "floor.plain")
    def handle(self, payload):
        return None
'''

KIT_SERVICE = Template('''"""$doc"""

from __future__ import annotations

import uuid
from typing import Any

from marshmallow import Schema, fields
from motcua_kit import metrics, ops
from motcua_kit.consumer import consume
from motcua_kit.db import Database, UnitOfWork
from motcua_kit.http import http, json_response, load_json
from nameko.dependency_providers import Config
from psycopg.types.json import Jsonb


class ItemSchema(Schema):
    name = fields.String(required=True)
    unit = fields.String(required=True)
    copies = fields.Integer(required=True)


class FloorService(ops.OpsEndpoints):
    name = "$name"

    db: UnitOfWork = Database()
    config: dict[str, Any] = Config()
    timing = metrics.EntrypointMetrics()

$body
''')

BODIES = {
    "floor_inbox": """    @consume("floor_source", "floor.inbox")
    def handle(self, event):
        return None
""",
    "floor_emit": """    @consume("floor_source", "floor.emit")
    def handle(self, event):
        self.db.emit("floor.relayed", event["subject"], event["data"])
""",
    "floor_http": """    @http("POST", "/items", roles=("reception",), scope="unit")
    def create(self, request):
        item = load_json(request, ItemSchema())
        return json_response({"id": str(uuid.uuid4()), **item}, status=201)
""",
    "floor_write": """    @http("POST", "/items", roles=("reception",), scope="unit")
    def create(self, request):
        item = load_json(request, ItemSchema())
        item_id = str(uuid.uuid4())
        self.db.execute(
            "INSERT INTO floor_items (id, body) VALUES (%s, %s)", (item_id, Jsonb(item))
        )
        return json_response({"id": item_id, **item}, status=201)
""",
}

FLOOR_MIGRATION = """-- The floor bench's one table of its own: what phase e inserts.
CREATE TABLE floor_items (
    id         uuid PRIMARY KEY,
    body       jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""


@dataclass(frozen=True)
class Phase:
    key: str
    module: str
    title: str
    event_type: str | None = None  # consumer phases: the routing key they consume

    @property
    def consumer(self) -> bool:
        return self.event_type is not None

    @property
    def kit(self) -> bool:
        return self.module != "floor_plain"

    @property
    def queue(self) -> str:
        """The queue nameko's event_handler and the kit's consume both name this way."""
        return f"evt-{SOURCE}-{self.event_type}--{self.module}.handle"

    def source(self) -> str:
        if not self.kit:
            return PLAIN_SERVICE
        return KIT_SERVICE.substitute(doc=self.title, name=self.module, body=BODIES[self.module])


PHASES = {
    p.key: p
    for p in (
        Phase("a", "floor_plain", "nameko @event_handler, empty body", "floor.plain"),
        Phase("b", "floor_inbox", "kit @consume, empty body (inbox claim)", "floor.inbox"),
        Phase("c", "floor_emit", "kit @consume + uow.emit → relay publish", "floor.emit"),
        Phase("d", "floor_http", "kit @http POST, 201 JSON, no DB"),
        Phase("e", "floor_write", "kit @http POST + INSERT + commit"),
    )
}


def service_config(ctx: Context, port: int) -> dict[str, Any]:
    """The keys and defaults of the real services' config.yml, with this run's resources."""
    return {
        "AMQP_URI": ctx.amqp_uri,
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
        "DATABASE_URL": ctx.database_url,
        "DB_POOL_SIZE": ctx.args.db_pool_size,
        "max_workers": ctx.args.max_workers,
        **ctx.issuer.config(),
        "OUTBOX_POLL_SECONDS": 1.0,
        "OUTBOX_COLLECT_SECONDS": 0.01,
        "OUTBOX_MAX_BACKOFF_SECONDS": 30,
        "OUTBOX_RETENTION_DAYS": 7,
        "INBOX_RETENTION_DAYS": 30,
        "CONSUMER_RETRY_DELAYS": "1,5,30,120",
        "LOGGING": {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"json": {"()": "motcua_kit.logs.JsonFormatter"}},
            "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
            "root": {"level": ctx.args.log_level, "handlers": ["console"]},
        },
    }


# --- the run's resources ---------------------------------------------------------------------


class Broker:
    """One pika connection to the bench's vhost: queue depths, and publishing in transactions."""

    def __init__(self, amqp_uri: str) -> None:
        params = pika.URLParameters(amqp_uri)
        params.heartbeat = 0  # the HTTP phases leave it idle for a while
        self.connection = pika.BlockingConnection(params)
        self.channel = self.connection.channel()
        self.publisher = self.connection.channel()
        self.publisher.tx_select()  # a commit returns once the broker has the batch

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()

    def queue_state(self, name: str) -> tuple[int, int] | None:
        """(messages ready, consumers) of a queue, None if it does not exist (yet)."""
        try:
            frame = self.channel.queue_declare(name, passive=True)
        except pika.exceptions.ChannelClosedByBroker:
            self.channel = self.connection.channel()
            return None
        return int(frame.method.message_count), int(frame.method.consumer_count)

    def tap(self, exchange: str, routing_key: str, queue: str) -> None:
        """A durable queue bound to `exchange` (declared as the kit declares events exchanges)."""
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.channel.queue_declare(queue, durable=True)
        self.channel.queue_bind(queue, exchange, routing_key=routing_key)

    def publish(
        self, exchange: str, routing_key: str, bodies: list[bytes], content_type: str
    ) -> None:
        properties = pika.BasicProperties(
            delivery_mode=2, content_type=content_type, content_encoding="utf-8"
        )
        batch = 500
        for start in range(0, len(bodies), batch):
            for body in bodies[start : start + batch]:
                self.publisher.basic_publish(exchange, routing_key, body, properties)
            self.publisher.tx_commit()


@dataclass
class Context:
    args: argparse.Namespace
    workdir: Path
    resources: ExitStack
    database: str
    database_url: str
    amqp_uri: str
    broker: Broker
    probe: psycopg.Connection[Any]  # the bench's own connection: its backend is not counted
    issuer: LocalIssuer  # real keys, its JWKS over HTTP: tokens are verified as in production
    env: dict[str, str]
    idle: dict[str, float] = field(default_factory=dict)

    @property
    def probe_pid(self) -> int:
        return int(self.probe.info.backend_pid)

    def count(self, query: str, params: Any = ()) -> int:
        row = self.probe.execute(query, params).fetchone()
        return int(row[0]) if row else 0


def service_env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    no_proxy = ",".join(x for x in (env.get("NO_PROXY"), "127.0.0.1", "localhost") if x)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join((str(workdir), str(REPO / "kit"))),
            "PSYCOPG_WAIT_FUNC": "wait_select",
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
        }
    )
    return env


def write_services(workdir: Path) -> None:
    for phase in PHASES.values():
        (workdir / f"{phase.module}.py").write_text(phase.source(), encoding="utf-8")
    migrations = workdir / "migrations"
    migrations.mkdir()
    (migrations / "001_floor_items.sql").write_text(FLOOR_MIGRATION, encoding="utf-8")


def http_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # an http_proxy of the shell must not capture 127.0.0.1
    return session


# --- CPU -------------------------------------------------------------------------------------


def cpu_sample() -> dict[str, Any]:
    """Every process's CPU seconds so far, PostgreSQL's process titles, the machine's ticks."""
    procs = process_cpu()
    titles = {}
    for pid, (comm, _cpu) in procs.items():
        if comm == "postgres":
            titles[pid] = platform_bench.describe_process(pid, comm)
    return {"procs": procs, "titles": titles, "machine": platform_bench.machine_ticks()}


def cpu_between(
    before: dict[str, Any], after: dict[str, Any], service_pid: int | None, ctx: Context
) -> dict[str, float]:
    """CPU seconds between two samples, by who used them (see the module's docstring)."""
    own = os.getpid()
    used = dict.fromkeys(
        ("service", "pg_db", "pg_shared", "rabbitmq", "bench_client", "other"), 0.0
    )
    for pid, (comm, cpu) in after["procs"].items():
        earlier = before["procs"].get(pid)  # a pid new since `before` counts from zero
        delta = cpu - (earlier[1] if earlier and earlier[1] <= cpu else 0.0)
        if delta <= 0:
            continue
        if pid == service_pid:
            used["service"] += delta
        elif pid == own or pid == ctx.probe_pid:
            used["bench_client"] += delta
        elif comm == "postgres":
            title = after["titles"].get(pid) or before["titles"].get(pid, "")
            used["pg_db" if ctx.database in title else "pg_shared"] += delta
        elif comm == "beam.smp":
            used["rabbitmq"] += delta
        else:
            used["other"] += delta
    machine_before, machine_after = before["machine"], after["machine"]
    total = machine_after["total"] - machine_before["total"]
    busy = machine_after["busy"] - machine_before["busy"]
    out = {k: round(v, 3) for k, v in used.items()}
    out["machine_busy_share"] = round(busy / total, 3) if total > 0 else 0.0
    return out


def idle_probe(ctx: Context, seconds: float) -> dict[str, float]:
    """CPU per second of RabbitMQ, the other PostgreSQL processes and everything else while
    the bench runs nothing: their background (and other people's work) right now."""
    before = cpu_sample()
    started = time.monotonic()
    time.sleep(seconds)
    after = cpu_sample()
    elapsed = time.monotonic() - started
    used = cpu_between(before, after, None, ctx)
    return {
        "seconds": round(elapsed, 2),
        "rabbitmq_ms_per_s": round(used["rabbitmq"] * 1000 / elapsed, 1),
        "pg_shared_ms_per_s": round(used["pg_shared"] * 1000 / elapsed, 1),
        "other_ms_per_s": round(used["other"] * 1000 / elapsed, 1),
        "machine_busy_share": used["machine_busy_share"],
    }


def per_item(cpu: dict[str, float], items: int, seconds: float, idle: dict[str, float]) -> Any:
    """CPU milliseconds per item; RabbitMQ and shared PostgreSQL also less their idle rate."""
    if items <= 0:
        return {}

    def ms(value: float) -> float:
        return round(value * 1000 / items, 4)

    return {
        "service": ms(cpu["service"]),
        "pg_db": ms(cpu["pg_db"]),
        "pg_shared": ms(cpu["pg_shared"]),
        "pg_shared_less_idle": ms(
            max(0.0, cpu["pg_shared"] - idle["pg_shared_ms_per_s"] / 1000 * seconds)
        ),
        "rabbitmq": ms(cpu["rabbitmq"]),
        "rabbitmq_less_idle": ms(
            max(0.0, cpu["rabbitmq"] - idle["rabbitmq_ms_per_s"] / 1000 * seconds)
        ),
        "bench_client": ms(cpu["bench_client"]),
        "other": ms(cpu["other"]),
    }


# --- one service process ---------------------------------------------------------------------


def start_service(phase: Phase, ctx: Context) -> Any:
    port = free_port()
    config = ctx.workdir / f"{phase.module}.yml"
    config.write_text(yaml.safe_dump(service_config(ctx, port), sort_keys=False), encoding="utf-8")
    process = Process(
        name=phase.module,
        command=[
            sys.executable,
            "-m",
            "motcua_kit.run",
            "--config",
            str(config),
            phase.module,
        ],
        env=ctx.env,
        log=ctx.workdir / f"{phase.module}.log",
        port=port,
    )
    ctx.resources.callback(process.signal, signal.SIGTERM)  # SIGCONT first if frozen
    process.launch()
    wait_ready(process, phase, ctx)
    return process


def wait_ready(process: Any, phase: Phase, ctx: Context, timeout: float = 45.0) -> None:
    """Until its queue has a consumer (consumer phases) and /health answers 200 (kit)."""
    deadline = time.monotonic() + timeout
    with http_session() as session:
        while True:
            if not process.alive():
                raise BenchFailed(
                    f"{process.name} exited before it was ready:\n{log_tail(process.log)}"
                )
            ready = True
            if phase.consumer:
                state = ctx.broker.queue_state(phase.queue)
                ready = state is not None and state[1] >= 1
            if ready and phase.kit:
                try:
                    ready = session.get(f"{process.url}/health", timeout=2).status_code == 200
                except requests.RequestException:
                    ready = False
            if ready:
                return
            if time.monotonic() > deadline:
                raise BenchFailed(
                    f"{process.name} not ready after {timeout:g} s:\n{log_tail(process.log)}"
                )
            time.sleep(0.2)


def log_levels(path: Path) -> dict[str, int]:
    counts = {"warning": 0, "error": 0}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            level = json.loads(line).get("level") if line.startswith("{") else None
        except ValueError:
            continue
        if level in ("warning", "error", "critical"):
            counts["warning" if level == "warning" else "error"] += 1
    return counts


# --- consumer phases (a, b, c) ---------------------------------------------------------------


def events(count: int) -> list[bytes]:
    """CloudEvents the size of a dossier.received, each with an id of its own."""
    return [baseline._row_and_message(i)[1] for i in range(count)]


def progress_counter(phase: Phase, ctx: Context, published: list[int]) -> Callable[[], int]:
    """How many of the events published so far are through (see the module's docstring)."""
    if phase.key == "a":

        def through_plain() -> int:
            state = ctx.broker.queue_state(phase.queue)
            return published[0] - (state[0] if state else published[0])

        return through_plain
    if phase.key == "b":
        consumer = f"{phase.module}.handle"
        return lambda: ctx.count(
            "SELECT count(*) FROM inbox_events WHERE consumer = %s", (consumer,)
        )

    def through_relay() -> int:
        state = ctx.broker.queue_state(TAP_QUEUE)
        return state[0] if state else 0

    return through_relay


def wait_through(progress: Callable[[], int], target: int, timeout: float) -> tuple[int, bool]:
    deadline = time.monotonic() + timeout
    while True:
        done = progress()
        if done >= target:
            return done, True
        if time.monotonic() > deadline:
            return done, False
        time.sleep(POLL_SECONDS)


def run_consumer_phase(phase: Phase, ctx: Context) -> dict[str, Any]:
    args = ctx.args
    content_type = "application/cloudevents+json" if phase.kit else "application/json"
    exchange = f"{SOURCE}.events"
    if phase.key == "c":
        ctx.broker.tap(f"{phase.module}.events", "floor.relayed", TAP_QUEUE)
    published = [0]
    progress = progress_counter(phase, ctx, published)
    process = start_service(phase, ctx)
    try:
        warm = events(args.warmup)
        ctx.broker.publish(exchange, phase.event_type or "", warm, content_type)
        published[0] += len(warm)
        start_count = published[0]  # all through before the measured batch is published
        _, warmed = wait_through(progress, published[0], args.phase_timeout)
        if not warmed:
            raise BenchFailed(f"{phase.key}: the warm-up did not get through")
        time.sleep(SETTLE_SECONDS)
        measured = events(args.n)
        process.signal(signal.SIGSTOP)
        try:
            unpublished = cpu_sample()
            ctx.broker.publish(exchange, phase.event_type or "", measured, content_type)
            published[0] += len(measured)
            state = ctx.broker.queue_state(phase.queue)
            waiting = state[0] if state else 0
            if waiting < args.n - 2 * args.max_workers:  # a few may sit in the frozen consumer
                raise BenchFailed(
                    f"{phase.key}: only {waiting} of {args.n} events reached the queue"
                )
            before = cpu_sample()
            started = time.monotonic()
        finally:
            process.signal(signal.SIGCONT)
        done, complete = wait_through(progress, published[0], args.phase_timeout)
        elapsed = time.monotonic() - started
        after = cpu_sample()
        cpu = cpu_between(before, after, process.pid, ctx)
    finally:
        process.signal(signal.SIGTERM)
    items = done - start_count
    enqueue = cpu_between(unpublished, before, None, ctx)  # the broker taking the batch in
    checks = consumer_checks(phase, ctx, published[0])
    checks["log_lines"] = log_levels(process.log)
    checks["ok"] = complete and checks.pop("consistent")
    return phase_figures(
        phase,
        ctx,
        items,
        elapsed,
        cpu,
        checks,
        enqueue_rabbitmq_ms_per_event=round(enqueue["rabbitmq"] * 1000 / args.n, 4),
    )


def phase_figures(
    phase: Phase,
    ctx: Context,
    items: int,
    elapsed: float,
    cpu: dict[str, float],
    checks: dict[str, Any],
    **more: Any,
) -> dict[str, Any]:
    """A phase's result: items, rate, CPU (per item, less the machine's idle share), checks."""
    return {
        "phase": phase.key,
        "title": phase.title,
        "items": items,
        "seconds": round(elapsed, 3),
        "per_s": round(items / elapsed, 1) if elapsed > 0 else 0.0,
        **more,
        "cpu_s": cpu,
        "cpu_ms_per_item": per_item(cpu, items, elapsed, ctx.idle),
        "checks": checks,
    }


def consumer_checks(phase: Phase, ctx: Context, published: int) -> dict[str, Any]:
    """After the service stopped: nothing left in its queue (unacked ones would be back), and
    for the kit phases every event claimed once, nothing dead-lettered, everything relayed."""
    state = ctx.broker.queue_state(phase.queue)
    checks: dict[str, Any] = {"published": published, "left_in_queue": state[0] if state else None}
    consistent = checks["left_in_queue"] == 0
    if phase.kit:
        dlq = ctx.broker.queue_state(f"{phase.module}.dlq")
        checks["dead_lettered"] = dlq[0] if dlq else None
        checks["inbox_rows"] = ctx.count(
            "SELECT count(*) FROM inbox_events WHERE consumer = %s", (f"{phase.module}.handle",)
        )
        consistent = consistent and checks["dead_lettered"] == 0
        consistent = consistent and checks["inbox_rows"] == published
    if phase.key == "c":
        tap = ctx.broker.queue_state(TAP_QUEUE)
        checks["relayed"] = tap[0] if tap else None
        checks["outbox_unpublished"] = ctx.count(
            "SELECT count(*) FROM outbox_events WHERE published_at IS NULL"
        )
        consistent = consistent and checks["relayed"] == published
        consistent = consistent and checks["outbox_unpublished"] == 0
    checks["consistent"] = consistent
    return checks


# --- HTTP phases (d, e) ----------------------------------------------------------------------

HTTP_BODY = json.dumps(
    {"name": "Nguyễn Thị Ánh Tuyết", "unit": "000.00.08.H38", "copies": 1}, ensure_ascii=False
).encode()


def drive_http(
    url: str, token: str, threads: int, warmup_s: float, seconds: float, on_window: Any
) -> tuple[list[tuple[float, int]], float]:
    """`threads` clients POST as fast as they are answered; what is answered inside the
    measured window (after `warmup_s`, `seconds` long) is kept: (latency s, status). Calls
    `on_window("start")` and `on_window("end")` at its edges (CPU samples)."""
    window = [float("inf"), float("inf")]
    stop = threading.Event()
    lock = threading.Lock()
    kept: list[tuple[float, int]] = []
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def client() -> None:
        with http_session() as session:
            while not stop.is_set():
                sent = time.monotonic()
                try:
                    status = session.post(url, data=HTTP_BODY, headers=headers, timeout=30)
                    code = status.status_code
                except requests.RequestException:
                    code = 0
                answered = time.monotonic()
                if window[0] <= answered <= window[1]:
                    with lock:
                        kept.append((answered - sent, code))

    pool = [threading.Thread(target=client, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    try:
        time.sleep(warmup_s)
        on_window("start")
        window[0] = time.monotonic()
        time.sleep(seconds)
        window[1] = time.monotonic()
        on_window("end")
    finally:
        stop.set()
        for thread in pool:
            thread.join(timeout=35)
    return kept, window[1] - window[0]


def run_http_phase(phase: Phase, ctx: Context) -> dict[str, Any]:
    args = ctx.args
    token = ctx.issuer.token(
        sub="floor-bench", name="Cán bộ floor bench", unit="000.00.08.H38", roles=["reception"]
    )
    rows_before = ctx.count("SELECT count(*) FROM floor_items")
    process = start_service(phase, ctx)
    samples: dict[str, dict[str, Any]] = {}
    try:
        kept, elapsed = drive_http(
            f"{process.url}/items",
            token,
            args.http_threads,
            args.http_warmup,
            args.http_seconds,
            lambda edge: samples.__setitem__(edge, cpu_sample()),
        )
    finally:
        process.signal(signal.SIGTERM)
    cpu = cpu_between(samples["start"], samples["end"], process.pid, ctx)
    created = [took for took, status in kept if status == 201]
    failed = [status for _, status in kept if status != 201]
    rows = ctx.count("SELECT count(*) FROM floor_items") - rows_before
    checks: dict[str, Any] = {
        "answered_201": len(created),
        "not_201": len(failed),
        "first_failures": sorted(set(failed))[:5],
        "rows_inserted_in_all": rows,
        "log_lines": log_levels(process.log),
    }
    checks["ok"] = not failed and created and (phase.key != "e" or rows >= len(created))
    checks["ok"] = bool(checks["ok"])
    items = len(created)
    return phase_figures(phase, ctx, items, elapsed, cpu, checks, latency=latency_summary(created))


# --- the composite and the summary -----------------------------------------------------------

SERVER_PARTS = ("service", "pg_db", "rabbitmq_less_idle")
PUBLISHES, CONSUMES = 5, 9  # per dossier on the platform (RabbitMQ's counters, platform_bench)


def composite(phases: dict[str, dict[str, Any]], cores: int) -> dict[str, Any]:
    """Per dossier: 1 × HTTP (d or e) + 9 × b + 5 × (c − b), CPU ms by part, and the most
    dossiers/s that CPU allows on `cores` cores (servers only: not the bench client)."""
    if not all(k in phases and phases[k]["items"] for k in "bc"):
        return {}
    b, c = phases["b"]["cpu_ms_per_item"], phases["c"]["cpu_ms_per_item"]
    out: dict[str, Any] = {
        "formula": f"1 × http + {CONSUMES} × b + {PUBLISHES} × (c − b)",
        "cores": cores,
    }
    parts = (*SERVER_PARTS, "rabbitmq", "pg_shared_less_idle")
    out["publish_c_minus_b"] = {p: round(c[p] - b[p], 4) for p in parts}
    # The platform's 5 publishes make 9 deliveries: 4 more copies enqueued than the formula
    # counts (b's events were enqueued before its clock ran; c's relay feeds one queue).
    enqueues = [p["enqueue_rabbitmq_ms_per_event"] for k, p in phases.items() if k in "abc"]
    per_copy = sum(enqueues) / len(enqueues)
    out["fanout_copies_not_counted"] = {
        "copies": CONSUMES - PUBLISHES,
        "rabbitmq_ms_per_copy": round(per_copy, 4),
        "rabbitmq_ms": round((CONSUMES - PUBLISHES) * per_copy, 3),
    }
    for key in "de":
        if key not in phases or not phases[key]["items"]:
            continue
        http = phases[key]["cpu_ms_per_item"]
        per = {p: round(http[p] + CONSUMES * b[p] + PUBLISHES * (c[p] - b[p]), 3) for p in parts}
        total = sum(per[p] for p in SERVER_PARTS)
        out[f"with_{key}"] = {
            "cpu_ms": per,
            "total_ms": round(total, 3),
            "max_dossiers_per_s": round(cores * 1000 / total, 1) if total > 0 else None,
            "max_dossiers_per_s_services_only": (
                round(cores * 1000 / per["service"], 1) if per["service"] > 0 else None
            ),
        }
    return out


COLUMNS = (
    ("phase", 44),
    ("items", 7),
    ("/s", 9),
    ("service", 9),
    ("PG db", 8),
    ("PG shrd", 8),
    ("RMQ", 7),
    ("RMQ-idle", 9),
    ("client", 8),
    ("other", 7),
    ("busy", 6),
)


def summary(result: dict[str, Any]) -> str:
    m, idle, cfg = result["machine"], result["idle_probe"], result["config"]
    lines = [
        f"floor benchmark ({result['started_at']}), code "
        f"{(result['code']['commit'] or 'unknown')[:12]}"
        + (" + local changes" if result["code"]["changed_files"] else ""),
        f"  machine  {m['nproc']} × {m['cpu_model']}; PostgreSQL "
        f"{m.get('postgresql_server_version')}, RabbitMQ {m.get('rabbitmq_version')}; "
        f"load {m['loadavg_at_start']:.2f} at start",
        f"  idle     RabbitMQ {idle['rabbitmq_ms_per_s']} ms/s, PG shared "
        f"{idle['pg_shared_ms_per_s']} ms/s, other processes {idle['other_ms_per_s']} ms/s, "
        f"machine {idle['machine_busy_share']:.0%} busy ({idle['seconds']} s before the phases)",
        f"  settings N {cfg['n']} (+{cfg['warmup']} warm-up), max_workers {cfg['max_workers']}, "
        f"DB_POOL_SIZE {cfg['db_pool_size']}, HTTP {cfg['http_threads']} threads × "
        f"{cfg['http_seconds']:g} s, log level {cfg['log_level']}",
        "  CPU ms per item (busy: the machine's share during the phase)",
        "  " + "".join(n.ljust(w) if i == 0 else n.rjust(w) for i, (n, w) in enumerate(COLUMNS)),
    ]
    for key, phase in result["phases"].items():
        cpu = phase["cpu_ms_per_item"] or {}
        cells = [
            f"{key} {phase['title']}",
            f"{phase['items']}",
            f"{phase['per_s']:.1f}",
            *(
                f"{cpu.get(p, float('nan')):.3f}"
                for p in (
                    "service",
                    "pg_db",
                    "pg_shared",
                    "rabbitmq",
                    "rabbitmq_less_idle",
                    "bench_client",
                    "other",
                )
            ),
            f"{phase['cpu_s']['machine_busy_share']:.0%}",
        ]
        row = "".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, (_, w)) in enumerate(zip(cells, COLUMNS, strict=True))
        )
        checks = phase["checks"]
        if not checks["ok"]:
            row += f"  FAILED {json.dumps(checks, default=str)}"
        lines.append("  " + row)
        if "latency" in phase:
            lat = phase["latency"]
            lines.append(
                f"      POST latency p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms"
            )
    comp = result["composite"]
    if comp:
        pub = comp["publish_c_minus_b"]
        lines.append(
            f"  one publish (c − b): service {pub['service']:.3f}, PG db {pub['pg_db']:.3f}, "
            f"RabbitMQ {pub['rabbitmq']:.3f} ({pub['rabbitmq_less_idle']:.3f} less idle) ms"
        )
        fan = comp["fanout_copies_not_counted"]
        lines.append(
            f"  broker enqueue of a persistent event (while a service was frozen): "
            f"{fan['rabbitmq_ms_per_copy']:.3f} ms; the {fan['copies']} fan-out copies per dossier "
            f"the formula does not count: +{fan['rabbitmq_ms']:.2f} ms RabbitMQ"
        )
        lines.append(f"  per dossier {comp['formula']}, CPU ms (RabbitMQ less idle):")
        for key in "de":
            c = comp.get(f"with_{key}")
            if not c:
                continue
            per = c["cpu_ms"]
            lines.append(
                f"    with {key}: service {per['service']:.2f} + PG db {per['pg_db']:.2f} + "
                f"RabbitMQ {per['rabbitmq_less_idle']:.2f} = {c['total_ms']:.2f} ms → at most "
                f"{c['max_dossiers_per_s']} dossiers/s on {comp['cores']} cores "
                f"(services alone: {c['max_dossiers_per_s_services_only']}/s; RabbitMQ raw "
                f"{per['rabbitmq']:.2f}, PG shared less idle {per['pg_shared_less_idle']:.2f})"
            )
    return "\n".join(lines)


# --- the run ---------------------------------------------------------------------------------


def measure(args: argparse.Namespace, resources: ExitStack) -> dict[str, Any]:
    name = baseline.bench_name()
    workdir = Path(tempfile.mkdtemp(prefix="floor-bench-"))
    if args.keep_workdir:
        print(f"work folder (kept): {workdir}", flush=True)
    else:
        resources.callback(shutil.rmtree, workdir, ignore_errors=True)
    write_services(workdir)
    database_url = resources.enter_context(baseline.throwaway_database(name))
    amqp_uri = resources.enter_context(baseline.throwaway_vhost(name))
    migrate_service(database_url, "floor", workdir / "migrations")
    broker = Broker(amqp_uri)
    resources.callback(broker.close)
    probe = psycopg.connect(database_url, autocommit=True)
    resources.callback(probe.close)
    ctx = Context(
        args=args,
        workdir=workdir,
        resources=resources,
        database=name,
        database_url=database_url,
        amqp_uri=amqp_uri,
        broker=broker,
        probe=probe,
        issuer=resources.enter_context(LocalIssuer(workdir / "issuer")),
        env=service_env(workdir),
    )
    ctx.idle = idle_probe(ctx, args.idle_seconds)
    if ctx.idle["machine_busy_share"] > 0.25:
        print(
            f"note: {ctx.idle['machine_busy_share']:.0%} of the CPU is busy before the phases: "
            "something else runs here; RabbitMQ, PG shared and the rates will be off",
            flush=True,
        )
    results: dict[str, dict[str, Any]] = {}
    for key in args.phases:
        phase = PHASES[key]
        print(f"phase {key}: {phase.title} ...", flush=True)
        run = run_consumer_phase if phase.consumer else run_http_phase
        results[key] = run(phase, ctx)
        print(
            f"  {results[key]['items']} in {results[key]['seconds']:.1f} s, "
            f"{results[key]['per_s']:.1f}/s, service "
            f"{results[key]['cpu_ms_per_item'].get('service', float('nan')):.3f} ms/item",
            flush=True,
        )
    return {"idle_probe": ctx.idle, "phases": results}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=5000, help="events per consumer phase (5000)")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up events first (200)")
    parser.add_argument(
        "--phases", default="abcde", help="which phases, in this order (abcde; see above)"
    )
    parser.add_argument("--http-threads", type=int, default=100, help="HTTP clients (100)")
    parser.add_argument("--http-seconds", type=float, default=10.0, help="measured (10 s)")
    parser.add_argument("--http-warmup", type=float, default=2.0, help="unmeasured first (2 s)")
    parser.add_argument("--max-workers", type=int, default=10, help="nameko max_workers (10)")
    parser.add_argument("--db-pool-size", type=int, default=10, help="DB_POOL_SIZE (10)")
    parser.add_argument(
        "--phase-timeout", type=float, default=120.0, help="give up a consumer phase after (120 s)"
    )
    parser.add_argument(
        "--idle-seconds", type=float, default=3.0, help="idle probe before the phases (3 s)"
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        choices=("DEBUG", "INFO", "WARNING"),
        help="the services' root log level (INFO, as config.yml; nameko's web server logs every "
        "request at INFO)",
    )
    parser.add_argument("--keep-workdir", action="store_true", help="keep services' logs")
    args = parser.parse_args(argv)
    unknown = set(args.phases) - set(PHASES)
    if unknown or not args.phases:
        parser.error(f"--phases: letters among {''.join(PHASES)}")
    if args.n < 1 or args.warmup < 1 or args.http_threads < 1 or args.http_seconds <= 0:
        parser.error("--n, --warmup, --http-threads and --http-seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    started_at = datetime.now(UTC)
    machine = {
        **host_machine(),
        **platform_bench.server_versions(baseline.PG_URL, "http://guest:guest@127.0.0.1:15672"),
    }
    figures = measure_leaving_nothing(measure, args, "the processes, database and vhost were")
    if isinstance(figures, int):
        return figures
    result: dict[str, Any] = {
        "benchmark": "floor",
        "started_at": started_at.isoformat(timespec="seconds"),
        "config": {k: v for k, v in vars(args).items() if k != "keep_workdir"},
        "machine": machine,
        "code": platform_bench.code_version(),
        **figures,
        "loadavg_at_end": os.getloadavg()[0],
    }
    result["composite"] = composite(result["phases"], int(machine["nproc"] or 1))
    out = write_results("floor", started_at, result)
    print(summary(result))
    print(f"  results  {out}")
    return 0 if all(p["checks"]["ok"] for p in result["phases"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
