"""The raw baseline: the same durable work per submission with plain psycopg and pika, nothing else.

Per operation, on its own thread with its own connections: one INSERT of a dossier-like row and its
commit (an fsync), then one persistent publish of a CloudEvent-sized message to a durable queue,
waiting for the broker's confirm. What intake does per submission can hardly cost less than this,
so "intake ÷ baseline" says how much of the floor the platform reaches.

    .venv/bin/python bench/baseline.py --n 2000 --concurrency 50

Run alone it makes its own throw-away database and vhost (and removes them); bench/intake_bench.py
calls `run()` on its own throw-away ones. The helpers for those throw-away resources live here too.
Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pika
import psycopg
import requests
from psycopg import sql
from psycopg.types.json import Jsonb

PG_URL = "postgresql://postgres@127.0.0.1:5432"
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


def run(
    database_url: str, amqp_uri: str, n: int, concurrency: int, deadline_s: float = 60.0
) -> dict[str, Any]:
    """N operations on `concurrency` threads (one DB and one AMQP connection each); figures."""
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
    lock = threading.Lock()
    next_index = iter(range(n))
    latencies: list[float] = []
    errors: list[str] = []
    stop = threading.Event()
    delivered: list[int] = []
    counter = threading.Thread(target=_count_deliveries, args=(amqp_uri, stop, delivered))
    counter.daemon = True
    counter.start()
    ready = threading.Barrier(concurrency + 1, timeout=30)
    end_by = [float("inf")]

    def worker() -> None:
        db: psycopg.Connection[Any] | None = None
        broker: pika.BlockingConnection | None = None
        try:
            db = psycopg.connect(database_url, connect_timeout=5)
            broker = pika.BlockingConnection(params)
            out = broker.channel()
            out.confirm_delivery()
            properties = pika.BasicProperties(
                delivery_mode=2, content_type="application/cloudevents+json"
            )
            ready.wait()
            while not stop.is_set() and time.monotonic() < end_by[0]:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                row, message = work[i]
                started = time.monotonic()
                db.execute(INSERT, row)
                db.commit()
                out.basic_publish(EXCHANGE, ROUTING_KEY, message, properties)  # waits for confirm
                took = time.monotonic() - started
                with lock:
                    latencies.append(took)
        except Exception as exc:
            errors.append(repr(exc))
            ready.abort()  # a worker that cannot start must not leave the others waiting
        finally:
            if db is not None:
                db.close()
            if broker is not None and broker.is_open:
                broker.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    try:
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
        wait_until = time.monotonic() + 10
        while len(delivered) < len(latencies) and time.monotonic() < wait_until:
            time.sleep(0.05)
    finally:
        stop.set()
        counter.join(timeout=5)
    done = len(latencies)
    return {
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args(argv)
    name = bench_name()
    with throwaway_database(name) as database_url, throwaway_vhost(name) as amqp_uri:
        result = run(database_url, amqp_uri, args.n, args.concurrency)
    print("baseline (psycopg INSERT + commit, pika persistent publish + confirm):")
    print("  " + describe(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
