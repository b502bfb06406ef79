"""The raw baseline: the same durable work per submission with plain psycopg and pika, nothing else.

The minimal baseline (`run`): per operation, on its own thread with its own connections, one INSERT
of a dossier-like row and its commit (an fsync), then one persistent publish of a CloudEvent-sized
message to a durable queue, waiting for the broker's confirm. What intake does per submission can
hardly cost less than this, so "intake ÷ baseline" says how much of the floor the platform reaches.

The equal-work baseline (`run_equal_work`): per dossier, what the whole platform does durably for
one dossier, with P confirmed publishes and C consumed messages measured on the platform
(bench/platform_bench.py): one INSERT + COMMIT (the submission), P persistent publishes each
waiting for its confirm, routed so that they make C deliveries to durable queues of the thread's
own (an event fans out to several services), and C times: basic_get, INSERT + COMMIT of the
message (a consumer's write), ack. Its dossiers/s is the raw limit for that much durable work.
With `rows` (`--rows`; the rows the platform wrote per dossier, from PostgreSQL's counters) the
same commits also carry the rest of those writes: small single-row INSERTs spread evenly over
them, so the baseline writes as many rows per dossier as the platform did (the "equal writes"
baseline). The extra rows are the cheapest kind (four narrow columns, one index), so the
baseline errs on the fast side.

    .venv/bin/python bench/baseline.py --n 2000 --concurrency 50
    .venv/bin/python bench/baseline.py --n 1000 --concurrency 50 --equal-work 5 9
    .venv/bin/python bench/baseline.py --n 1000 --concurrency 50 --equal-work 5 9 --rows 55

Run alone it makes its own throw-away database and vhost (and removes them); bench/intake_bench.py
calls `run()` on its own throw-away ones. The helpers for those throw-away resources live here too.
Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pika
import psycopg
import requests
from psycopg import sql
from psycopg.types.json import Jsonb

PG_URL = os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432")
AMQP_BASE = "amqp://guest:guest@127.0.0.1:5672"
MANAGEMENT = "http://127.0.0.1:15672/api"
MANAGEMENT_AUTH = ("guest", "guest")

EXCHANGE = "baseline.events"
QUEUE = "baseline.tap"
ROUTING_KEY = "dossier.received"


# --- throw-away resources (also used by intake_bench.py) ---------------------------------------


def bench_name() -> str:
    return f"motcua_bench_{uuid.uuid4().hex[:10]}"


def drop_database(name: str) -> None:
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def create_vhost(name: str) -> str:
    """A vhost with full permissions for guest; returns its AMQP URI."""
    for url, body in (
        (f"{MANAGEMENT}/vhosts/{name}", {}),
        (
            f"{MANAGEMENT}/permissions/{name}/guest",
            {"configure": ".*", "write": ".*", "read": ".*"},
        ),
    ):
        requests.put(url, json=body, auth=MANAGEMENT_AUTH, timeout=10).raise_for_status()
    return f"{AMQP_BASE}/{name}"


def delete_vhost(name: str) -> None:
    reply = requests.delete(f"{MANAGEMENT}/vhosts/{name}", auth=MANAGEMENT_AUTH, timeout=10)
    if reply.status_code not in (204, 404):
        reply.raise_for_status()


@contextmanager
def throwaway_vhost(name: str) -> Iterator[str]:
    uri = create_vhost(name)
    try:
        yield uri
    finally:
        delete_vhost(name)


@contextmanager
def throwaway_database(name: str) -> Iterator[str]:
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{PG_URL}/{name}"
    finally:
        drop_database(name)


# --- figures ---------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of `values` (p in 0..100); nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil without floats
    return ordered[int(min(rank, len(ordered))) - 1]


def latency_summary(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2) if ms else float("nan"),
    }


# --- the baseline itself ---------------------------------------------------------------------

TABLE = """
CREATE TABLE IF NOT EXISTS baseline_dossiers (
    code text PRIMARY KEY, unit text NOT NULL, procedure_code text NOT NULL,
    status text NOT NULL, applicant jsonb NOT NULL, documents jsonb NOT NULL,
    received_at timestamptz NOT NULL, due_at timestamptz NOT NULL,
    pin_hash text NOT NULL, received_by jsonb NOT NULL
)
"""


def _row_and_message(i: int) -> tuple[dict[str, Any], bytes]:
    """A row like intake's dossiers row, and a message about the size of its dossier.received."""
    code = f"BASE-{uuid.uuid4().hex[:12]}-{i:05d}"
    digits = "".join(random.choices("0123456789", k=12))
    applicant = {
        "name": "Nguyễn Thị Ánh Tuyết",
        "citizen_id": digits,
        "phone": "09" + digits[-8:],
        "email": f"cd{uuid.uuid4().hex[:10]}@example.vn",
        "address": "Thôn 1, xã Thạch Bình, tỉnh Hà Tĩnh",
    }
    documents = [
        {"code": "to-khai-lien-thong", "copies": 1},
        {"code": "giay-chung-sinh", "copies": 1},
    ]
    actor = {"id": "bench-officer", "name": "Cán bộ bench", "unit": "BASE"}
    now = datetime.now(UTC)
    row = {
        "code": code,
        "unit": "BASE",
        "procedure_code": "2.000986",
        "status": "received",
        "applicant": Jsonb(applicant),
        "documents": Jsonb(documents),
        "received_at": now,
        "due_at": now + timedelta(days=3),
        "pin_hash": uuid.uuid4().hex * 2,
        "received_by": Jsonb(actor),
    }
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/motcua/baseline",
        "type": ROUTING_KEY,
        "time": now.isoformat(),
        "subject": code,
        "datacontenttype": "application/json",
        "data": {
            "code": code,
            "unit": "BASE",
            "procedure": {"code": "2.000986", "version": 1, "name": {"vi": "Liên thông khai sinh"}},
            "received_at": now.isoformat(),
            "due_at": (now + timedelta(days=3)).isoformat(),
            "applicant": applicant,
            "documents": documents,
            "received_by": actor,
            "lookup": {"url": f"http://localhost:8001/lookup/{code}", "pin": "123456"},
        },
    }
    return row, json.dumps(event, ensure_ascii=False).encode()


INSERT = (
    "INSERT INTO baseline_dossiers (code, unit, procedure_code, status, applicant, documents, "
    " received_at, due_at, pin_hash, received_by) VALUES (%(code)s, %(unit)s, %(procedure_code)s, "
    " %(status)s, %(applicant)s, %(documents)s, %(received_at)s, %(due_at)s, %(pin_hash)s, "
    " %(received_by)s)"
)


def _count_deliveries(amqp_uri: str, stop: threading.Event, seen: list[int]) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        channel = connection.channel()
        channel.basic_consume(QUEUE, lambda *_: seen.append(1), auto_ack=True)
        while not stop.is_set():
            connection.process_data_events(time_limit=0.1)
    finally:
        connection.close()


Operation = Callable[[int], None]


def _close_broker(connection: pika.BlockingConnection) -> None:
    if connection.is_open:
        connection.close()


def _worker_connections(
    database_url: str, params: pika.URLParameters, resources: ExitStack
) -> tuple[psycopg.Connection[Any], Any]:
    """A worker thread's own database connection and a confirming broker channel, closed with
    `resources`."""
    db = psycopg.connect(database_url, connect_timeout=5)
    resources.callback(db.close)
    broker = pika.BlockingConnection(params)
    resources.callback(_close_broker, broker)
    channel = broker.channel()
    channel.confirm_delivery()
    return db, channel


def _run_workers(
    n: int,
    concurrency: int,
    deadline_s: float,
    open_worker: Callable[[int, ExitStack], Operation],
) -> tuple[list[float], list[str], float]:
    """Operations 0..n-1 on `concurrency` threads. `open_worker(thread, resources)` opens the
    thread's connections (closing them through `resources`) and returns the operation; every
    thread starts once all are connected, and stops at the deadline. (latencies, errors, s)."""
    lock = threading.Lock()
    next_index = iter(range(n))
    latencies: list[float] = []
    errors: list[str] = []
    stop = threading.Event()
    ready = threading.Barrier(concurrency + 1, timeout=30)
    end_by = [float("inf")]

    def worker(thread: int) -> None:
        try:
            with ExitStack() as resources:
                operation = open_worker(thread, resources)
                ready.wait()
                while not stop.is_set() and time.monotonic() < end_by[0]:
                    with lock:
                        i = next(next_index, None)
                    if i is None:
                        return
                    started = time.monotonic()
                    operation(i)
                    took = time.monotonic() - started
                    with lock:
                        latencies.append(took)
        except Exception as exc:
            errors.append(repr(exc))
            ready.abort()  # a worker that cannot start must not leave the others waiting

    threads = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        stop.set()
    started = time.monotonic()
    end_by[0] = started + deadline_s
    for thread in threads:
        while thread.is_alive() and time.monotonic() < end_by[0] + 10:
            thread.join(timeout=0.2)
    elapsed = time.monotonic() - started
    stop.set()
    return latencies, errors, elapsed


def run(
    database_url: str, amqp_uri: str, n: int, concurrency: int, deadline_s: float = 60.0
) -> dict[str, Any]:
    """The minimal baseline: N operations on `concurrency` threads (one DB and one AMQP
    connection each); figures."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(TABLE)
    params = pika.URLParameters(amqp_uri)
    setup = pika.BlockingConnection(params)
    channel = setup.channel()
    channel.exchange_declare(EXCHANGE, exchange_type="topic", durable=True)
    channel.queue_declare(QUEUE, durable=True)
    channel.queue_bind(QUEUE, EXCHANGE, routing_key=ROUTING_KEY)
    setup.close()

    work = [_row_and_message(i) for i in range(n)]
    properties = pika.BasicProperties(delivery_mode=2, content_type="application/cloudevents+json")

    def open_worker(_thread: int, resources: ExitStack) -> Operation:
        db, out = _worker_connections(database_url, params, resources)

        def operation(i: int) -> None:
            row, message = work[i]
            db.execute(INSERT, row)
            db.commit()
            out.basic_publish(EXCHANGE, ROUTING_KEY, message, properties)  # waits for confirm

        return operation

    stop = threading.Event()
    delivered: list[int] = []
    counter = threading.Thread(target=_count_deliveries, args=(amqp_uri, stop, delivered))
    counter.daemon = True
    counter.start()
    try:
        latencies, errors, elapsed = _run_workers(n, concurrency, deadline_s, open_worker)
        wait_until = time.monotonic() + 10
        while len(delivered) < len(latencies) and time.monotonic() < wait_until:
            time.sleep(0.05)
    finally:
        stop.set()
        counter.join(timeout=5)
    done = len(latencies)
    return {
        "kind": "minimal",
        "n": n,
        "concurrency": concurrency,
        "completed": done,
        "errors": errors[:5],
        "error_count": len(errors),
        "delivered": len(delivered),
        "seconds": round(elapsed, 3),
        "ops_per_s": round(done / elapsed, 1) if elapsed > 0 else 0.0,
        "latency": latency_summary(latencies),
        "ok": done == n and not errors and len(delivered) == n,
    }


# --- the equal-work baseline -----------------------------------------------------------------

EQUAL_EXCHANGE = "baseline.equal"
CONSUMED_TABLE = """
CREATE TABLE IF NOT EXISTS baseline_consumed (
    queue text NOT NULL, message_id text NOT NULL, subject text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(), event jsonb NOT NULL,
    PRIMARY KEY (queue, message_id)
)
"""
CONSUME = (
    "INSERT INTO baseline_consumed (queue, message_id, subject, event)"
    " VALUES (%s, %s, %s, %s::jsonb)"
)
WRITES_TABLE = """
CREATE TABLE IF NOT EXISTS baseline_writes (
    id bigserial PRIMARY KEY, dossier text NOT NULL, n int NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
)
"""
WRITE = "INSERT INTO baseline_writes (dossier, n) VALUES (%s, %s)"


def spread(extra: int, commits: int) -> list[int]:
    """`extra` writes over `commits` transactions, as evenly as they go (earlier ones first)."""
    each, rest = divmod(max(0, extra), commits)
    return [each + (1 if i < rest else 0) for i in range(commits)]


def copies_per_publish(publishes: int, consumes: int) -> list[int]:
    """To how many queues each of a dossier's publishes is routed, so that they make `consumes`
    deliveries in all (the platform's events fan out to several services; with fewer deliveries
    than publishes, some reach no queue, like an event nobody subscribes to)."""
    each, extra = divmod(consumes, publishes)
    return [each + (1 if i < extra else 0) for i in range(publishes)]


def _equal_work_queue(thread: int, index: int) -> str:
    return f"baseline.equal.t{thread}.q{index}"


def _event_variants(message: bytes, count: int) -> list[bytes]:
    """`count` events like `message`, each with an id of its own."""
    event = json.loads(message)
    variants = []
    for _ in range(count):
        event["id"] = str(uuid.uuid4())
        variants.append(json.dumps(event, ensure_ascii=False).encode())
    return variants


def _get_one(channel: Any, queue: str, timeout: float = 5.0) -> tuple[Any, bytes]:
    """One message of `queue` (basic_get); it is there already, its publish was confirmed."""
    deadline = time.monotonic() + timeout
    while True:
        method, _properties, body = channel.basic_get(queue)
        if method is not None:
            return method, body
        if time.monotonic() > deadline:
            raise RuntimeError(f"{queue} stayed empty for {timeout} s")
        time.sleep(0.001)


def _delete_equal_work_queues(amqp_uri: str, concurrency: int, width: int) -> None:
    """The queues and exchange of the equal-work baseline (the vhost may go too, anyway)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    try:
        channel = connection.channel()
        for thread in range(concurrency):
            for index in range(width):
                channel.queue_delete(_equal_work_queue(thread, index))
        channel.exchange_delete(EQUAL_EXCHANGE)
    finally:
        _close_broker(connection)


def run_equal_work(
    database_url: str,
    amqp_uri: str,
    n: int,
    concurrency: int,
    publishes: int,
    consumes: int,
    deadline_s: float = 120.0,
    rows: int | None = None,
) -> dict[str, Any]:
    """The equal-work baseline: N dossiers on `concurrency` threads (one DB and one AMQP
    connection each), each 1 + `consumes` commits, `publishes` confirmed publishes and
    `consumes` messages got and acked, and with `rows` that many rows written over those
    commits (see the module's docstring); figures."""
    publishes = max(1, publishes)
    consumes = max(0, consumes)
    commits = 1 + consumes
    rows = max(commits, rows or commits)
    extra = spread(rows - commits, commits)  # beyond each commit's own row
    copies = copies_per_publish(publishes, consumes)
    width = max(copies)  # queues per thread: a message with k copies goes to queues 0..k-1
    gets = [(index, sum(1 for c in copies if c > index)) for index in range(width)]
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(TABLE)
        conn.execute(CONSUMED_TABLE)
        conn.execute(WRITES_TABLE)
    params = pika.URLParameters(amqp_uri)
    setup = pika.BlockingConnection(params)
    setup.channel().exchange_declare(EQUAL_EXCHANGE, exchange_type="topic", durable=True)
    setup.close()

    work = []
    for i in range(n):
        row, message = _row_and_message(i)
        work.append((row, _event_variants(message, publishes)))
    properties = pika.BasicProperties(delivery_mode=2, content_type="application/cloudevents+json")
    consumed = [0] * concurrency

    def open_worker(thread: int, resources: ExitStack) -> Operation:
        db, channel = _worker_connections(database_url, params, resources)
        for index in range(width):
            queue = _equal_work_queue(thread, index)
            channel.queue_declare(queue, durable=True)
            for k in range(index + 1, width + 1):
                channel.queue_bind(queue, EQUAL_EXCHANGE, routing_key=f"t{thread}.c{k}")

        def write_more(code: str, count: int) -> None:
            for n in range(count):
                db.execute(WRITE, (code, n))

        def operation(i: int) -> None:
            row, messages = work[i]
            db.execute(INSERT, row)
            write_more(row["code"], extra[0])
            db.commit()
            for message, k in zip(messages, copies, strict=True):
                channel.basic_publish(EQUAL_EXCHANGE, f"t{thread}.c{k}", message, properties)
            transaction = 1
            for index, count in gets:
                queue = _equal_work_queue(thread, index)
                for _ in range(count):
                    method, body = _get_one(channel, queue)
                    event = json.loads(body)
                    db.execute(CONSUME, (queue, event["id"], event["subject"], body.decode()))
                    write_more(row["code"], extra[transaction])
                    transaction += 1
                    db.commit()  # a consumer commits its writes, then acks
                    channel.basic_ack(method.delivery_tag)
                    consumed[thread] += 1

        return operation

    try:
        latencies, errors, elapsed = _run_workers(n, concurrency, deadline_s, open_worker)
    finally:
        _delete_equal_work_queues(amqp_uri, concurrency, width)
    done = len(latencies)
    return {
        "kind": "equal_writes" if rows > commits else "equal_work",
        "n": n,
        "concurrency": concurrency,
        "per_dossier": {
            "writes": commits,
            "rows": rows,
            "confirmed_publishes": publishes,
            "consumed_acked": consumes,
            "copies_per_publish": copies,
        },
        "completed": done,
        "errors": errors[:5],
        "error_count": len(errors),
        "consumed": sum(consumed),
        "seconds": round(elapsed, 3),
        "dossiers_per_s": round(done / elapsed, 1) if elapsed > 0 else 0.0,
        "latency": latency_summary(latencies),
        "ok": done == n and not errors and sum(consumed) == n * consumes,
    }


def describe(result: dict[str, Any]) -> str:
    lat = result["latency"]
    text = (
        f"{result['ops_per_s']:,.0f} ops/s ({result['completed']:,} in {result['seconds']:.1f} s, "
        f"{result['concurrency']} threads); per op p50 {lat['p50_ms']:.1f} ms, "
        f"p95 {lat['p95_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms"
    )
    if not result["ok"]:
        text += (
            f"  INCOMPLETE: {result['completed']}/{result['n']} done, "
            f"{result['delivered']} delivered, errors {result['errors']}"
        )
    return text


def describe_equal_work(result: dict[str, Any]) -> str:
    lat, per = result["latency"], result["per_dossier"]
    text = (
        f"{result['dossiers_per_s']:,.1f} dossiers/s ({result['completed']:,} in "
        f"{result['seconds']:.1f} s, {result['concurrency']} threads; per dossier "
        f"{per['writes']} commits writing {per.get('rows', per['writes'])} rows, "
        f"{per['confirmed_publishes']} confirmed publishes, "
        f"{per['consumed_acked']} got + acked); per dossier p50 {lat['p50_ms']:.1f} ms, "
        f"p99 {lat['p99_ms']:.1f} ms"
    )
    if not result["ok"]:
        text += (
            f"  INCOMPLETE: {result['completed']}/{result['n']} done, "
            f"{result['consumed']} consumed, errors {result['errors']}"
        )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument(
        "--equal-work",
        type=int,
        nargs=2,
        metavar=("PUBLISHES", "CONSUMES"),
        help="also the equal-work baseline with this many confirmed publishes and consumed "
        "messages per dossier (--n dossiers)",
    )
    parser.add_argument(
        "--rows",
        type=int,
        help="with --equal-work: rows written per dossier over its commits (the equal-writes "
        "baseline; at least one per commit)",
    )
    args = parser.parse_args(argv)
    name = bench_name()
    equal = None
    with throwaway_database(name) as database_url, throwaway_vhost(name) as amqp_uri:
        result = run(database_url, amqp_uri, args.n, args.concurrency)
        if args.equal_work:
            publishes, consumes = args.equal_work
            equal = run_equal_work(
                database_url,
                amqp_uri,
                args.n,
                args.concurrency,
                publishes,
                consumes,
                rows=args.rows,
            )
    print("baseline (psycopg INSERT + commit, pika persistent publish + confirm):")
    print("  " + describe(result))
    if equal is not None:
        print("equal-work baseline:")
        print("  " + describe_equal_work(equal))
    return 0 if result["ok"] and (equal is None or equal["ok"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
