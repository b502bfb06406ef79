"""Test services for the kit's integration tests, and the probes the tests watch them with.

- `Emitter` ("kittest") commits a row and its `thing.created` event in one transaction.
  It also sends `task.assigned` commands to an agency through the direct exchange `kittest.tasks`.
- `Consumer` ("kitconsumer") handles `kittest` `thing.created` events; the event data tells it
  how to misbehave: `sleep` (seconds, after the inbox claim), `fail_times` (raise on the first n
  runs), `permanent` (raise PermanentError). Subjects in `BROKEN` fail until removed.
- `Timekeeper` ("kittimers") fires due timers every 0.1 s, ten at a time (`fire_due_timers`),
  writing a `fired_timers` row per timer; payload `hold` (seconds) keeps the claim open longer.
  Keys in `FAILING_TIMERS` make that timer's handler raise until removed; `TIMER_CLAIMS` counts
  handler runs, rolled back or not.
- `Replier` ("kitreplies") consumes agencies' replies from the direct exchange `kittest.replies`
  and records what the broker delivered with each: every run in `REPLY_RUNS`, the run that
  succeeded in `REPLIES` (event id -> delivery facts). Reply data `fail_times` makes the first n
  runs raise; subjects in `BROKEN` fail until removed.
- Module-level records, keyed by event id (tests use fresh ids): `RUNS` (handler runs),
  `STARTED` (workers started, before the inbox claim), `FINISHED` (outcome of each worker,
  recorded after its transaction was settled and its message acked or moved).
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import uuid4

import eventlet
from kombu import Connection, Producer, Queue
from motcua_kit.consumer import DUPLICATE, consume
from motcua_kit.db import Database, UnitOfWork
from motcua_kit.errors import ApiError, PermanentError
from motcua_kit.events import CONTENT_TYPE
from motcua_kit.http import http, json_response
from motcua_kit.outbox import command_exchange, events_exchange
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.timer import timer
from prometheus_client import REGISTRY
from psycopg.types.json import Jsonb
from werkzeug.wrappers import Request, Response

RUNS: dict[str, list[float]] = defaultdict(list)
STARTED: dict[str, list[float]] = defaultdict(list)
FINISHED: dict[str, list[str]] = defaultdict(list)
BROKEN: set[str] = set()
FAILING_TIMERS: set[str] = set()
TIMER_CLAIMS: Counter[str] = Counter()
REPLIES: dict[str, dict[str, Any]] = {}
REPLY_RUNS: dict[str, list[dict[str, Any]]] = defaultdict(list)

CONSUMER_QUEUE = "evt-kittest-thing.created--kitconsumer.handle"
TASKS_EXCHANGE = "kittest.tasks"
REPLIES_EXCHANGE = "kittest.replies"
REPLIES_QUEUE = "kittest.replies"


class Emitter:
    name = "kittest"
    db: UnitOfWork = Database()  # type: ignore[assignment]

    @http("POST", "/things", public=True)
    def create(self, request: Request) -> Response:
        body = json.loads(request.get_data(as_text=True))
        code = body["code"]
        self.db.execute("INSERT INTO dossiers_test (code, note) VALUES (%s, %s)", (code, "new"))
        event = self.db.emit("thing.created", code, {"code": code, **body.get("data", {})})
        if body.get("fail"):
            raise ApiError(409, "told_to_fail", "refused after the event was emitted")
        return json_response({"code": code, "event_id": event["id"]}, 201)

    @http("POST", "/tasks", public=True)
    def assign(self, request: Request) -> Response:
        body = json.loads(request.get_data(as_text=True))
        code, agency = body["code"], body["agency"]
        self.db.execute("INSERT INTO dossiers_test (code, note) VALUES (%s, %s)", (code, agency))
        event = self.db.send(TASKS_EXCHANGE, agency, "task.assigned", code, {"code": code})
        if body.get("fail"):
            raise ApiError(409, "told_to_fail", "refused after the command was sent")
        return json_response({"code": code, "event_id": event["id"]}, 201)

    @http("GET", "/pg_sleep/<float:seconds>", public=True)
    def pg_sleep(self, request: Request, seconds: float) -> Response:
        self.db.execute("SELECT pg_sleep(%s)", (seconds,))
        return json_response({"slept": seconds})


class Tracker(DependencyProvider):
    """Records when each worker starts and how it ended (after `handle_result` settled it)."""

    def worker_setup(self, worker_ctx: Any) -> None:
        STARTED[worker_ctx.args[0]["id"]].append(time.monotonic())

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        if exc_info is not None:
            outcome = f"error: {exc_info[0].__name__}"
        else:
            outcome = "duplicate" if result is DUPLICATE else "handled"
        FINISHED[worker_ctx.args[0]["id"]].append(outcome)


class Consumer:
    name = "kitconsumer"
    db: UnitOfWork = Database(relay=False)  # type: ignore[assignment]
    tracker = Tracker()

    @consume("kittest", "thing.created")
    def handle(self, event: dict[str, Any]) -> None:
        runs = RUNS[event["id"]]
        runs.append(time.monotonic())
        data = event["data"]
        # The effect is written first: a failed run must leave nothing behind (rollback).
        self.db.execute(
            "INSERT INTO effects (event_id, subject, n) VALUES (%s, %s, %s)",
            (event["id"], event["subject"], len(runs)),
        )
        if data.get("sleep"):
            eventlet.sleep(data["sleep"])
        if data.get("permanent"):
            raise PermanentError("this event can never be handled")
        if len(runs) <= data.get("fail_times", 0):
            raise RuntimeError(f"failing on purpose (run {len(runs)})")
        if event["subject"] in BROKEN:
            raise RuntimeError("broken until fixed")


class Timekeeper:
    name = "kittimers"
    db: UnitOfWork = Database(relay=False)  # type: ignore[assignment]
    config = Config()

    @timer(interval=0.1)
    def tick(self) -> None:
        now = datetime.now(UTC)
        # Ten at a time: two replicas then share a heap of due timers between them.
        self.db.fire_due_timers(now, partial(self._fire, now), limit=10)

    def _fire(self, now: datetime, due: dict[str, Any]) -> None:
        TIMER_CLAIMS[due["key"]] += 1
        self.db.execute(
            "INSERT INTO fired_timers (kind, key, due_at, fired_at, payload, replica) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (
                due["kind"],
                due["key"],
                due["due_at"],
                now,
                Jsonb(due["payload"]),
                self.config.get("REPLICA", ""),
            ),
        )
        eventlet.sleep(due["payload"].get("hold", 0))
        if due["key"] in FAILING_TIMERS:
            raise RuntimeError("failing on purpose after the claim")


class Replier:
    name = "kitreplies"
    db: UnitOfWork = Database(relay=False)  # type: ignore[assignment]

    @consume(
        "agencies",
        "agency.reply",
        exchange=command_exchange(REPLIES_EXCHANGE),
        queue_name=REPLIES_QUEUE,
        delivery=True,
    )
    def on_reply(self, event: dict[str, Any], delivery: dict[str, Any]) -> None:
        runs = REPLY_RUNS[event["id"]]
        runs.append(delivery)
        if len(runs) <= event["data"].get("fail_times", 0):
            raise RuntimeError(f"failing on purpose (run {len(runs)})")
        if event["subject"] in BROKEN:
            raise RuntimeError("broken until fixed")
        REPLIES[event["id"]] = delivery


# --- probes --------------------------------------------------------------------------------


def wait_for(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)
    return result


def body_bytes(message: Any) -> bytes:
    """A received body as bytes (py-amqp decodes bodies that name a content encoding)."""
    body = message.body
    return body.encode(message.content_encoding) if isinstance(body, str) else body


def sample(name: str, **labels: str) -> float:
    """A Prometheus sample of this process (0 when the series does not exist yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def dead_lettered(reason: str) -> float:
    return sample("motcua_dead_lettered_total", service="kitconsumer", reason=reason)


class Broker:
    """Talks to the test's vhost directly, never through the service under test."""

    def __init__(self, amqp_uri: str) -> None:
        self.connection = Connection(amqp_uri)
        self.channel = self.connection.channel()
        self.producer = Producer(self.channel)

    def close(self) -> None:
        self.connection.release()

    def bind(self, service: str, routing_key: str = "#") -> str:
        """A fresh queue bound to `<service>.events`; returns its name."""
        exchange = events_exchange(service)
        exchange(self.channel).declare()
        name = f"probe-{service}-{uuid4().hex[:8]}"
        Queue(name, exchange=exchange, routing_key=routing_key)(self.channel).declare()
        return name

    def bind_command(self, exchange: str, routing_key: str) -> str:
        """A fresh queue bound to the direct exchange `exchange` with `routing_key`."""
        target = command_exchange(exchange)
        target(self.channel).declare()
        name = f"probe-{exchange}-{routing_key}-{uuid4().hex[:8]}"
        Queue(name, exchange=target, routing_key=routing_key)(self.channel).declare()
        return name

    def take(self, queue: str) -> list[Any]:
        """Every message waiting in `queue` now, removed from it."""
        found = []
        while (message := Queue(queue)(self.channel).get(no_ack=True)) is not None:
            found.append(message)
        return found

    def wait_messages(self, queue: str, count: int, timeout: float = 10.0) -> list[Any]:
        found: list[Any] = []
        wait_for(
            lambda: found.extend(self.take(queue)) or len(found) >= count,
            f"{count} message(s) on {queue}",
            timeout,
        )
        return found

    def wait_ids(self, queue: str, ids: list[str], timeout: float = 10.0) -> list[Any]:
        """Messages read from `queue` until every message id in `ids` was among them."""
        found: list[Any] = []

        def all_seen() -> bool:
            found.extend(self.take(queue))
            return set(ids) <= {m.properties.get("message_id") for m in found}

        wait_for(all_seen, f"messages {ids} on {queue}", timeout)
        return found

    def publish(
        self, body: bytes, content_type: str = CONTENT_TYPE, message_id: str | None = None
    ) -> None:
        """Publish raw bytes on `kittest.events` as `thing.created`, as a producer would."""
        self.producer.publish(
            body,
            exchange=events_exchange("kittest"),
            routing_key="thing.created",
            content_type=content_type,
            content_encoding="utf-8",
            message_id=message_id,
        )

    def publish_event(self, event: dict[str, Any]) -> None:
        self.publish(json.dumps(event).encode(), message_id=event["id"])
