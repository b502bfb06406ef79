"""The transactional outbox relay: publishes committed events, with publisher confirms.

Workers insert events into `outbox_events` in their own transaction. The relay, one greenthread
per service instance, takes unpublished rows (`FOR UPDATE SKIP LOCKED`, so replicas share the
work), publishes each to `<service>.events` waiting for the broker's confirm, and marks them
published in the same transaction. A crash between publish and commit publishes again:
delivery is at least once, and consumers are idempotent. A broker outage only delays events.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import eventlet
from eventlet.event import Event
from kombu import Exchange
from nameko.amqp.publish import Publisher
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from motcua_kit import metrics
from motcua_kit.config import setting
from motcua_kit.events import SERIALIZER

log = logging.getLogger(__name__)

BATCH = 200
PRUNE_EVERY = 60.0  # seconds


def events_exchange(service: str) -> Exchange:
    # Same declaration as nameko's own event dispatcher, so both can coexist.
    return Exchange(f"{service}.events", type="topic", durable=True, delivery_mode=2)


def command_exchange(name: str) -> Exchange:
    """Commands (tasks for one recipient) go through direct exchanges, routed by recipient.

    A command for a recipient with no queue would vanish: the alternate exchange keeps it in
    `<name>.unrouted` for an operator to see.
    """
    return Exchange(
        name,
        type="direct",
        durable=True,
        delivery_mode=2,
        arguments={"alternate-exchange": unrouted_name(name)},
    )


def unrouted_name(name: str) -> str:
    return f"{name}.unrouted"


def command_declarations(name: str) -> list[Any]:
    """What must exist before a command is published to `name`."""
    from kombu import Queue

    unrouted = Exchange(unrouted_name(name), type="fanout", durable=True)
    return [
        unrouted,
        Queue(unrouted_name(name), exchange=unrouted, durable=True),
        command_exchange(name),
    ]


class OutboxRelay:
    def __init__(self, pool: ConnectionPool, service: str, config: dict[str, Any]) -> None:
        self.pool = pool
        self.service = service
        self.exchange = events_exchange(service)
        self.poll_interval = float(setting(config, "OUTBOX_POLL_SECONDS", 1.0))
        self.retention_days = int(setting(config, "OUTBOX_RETENTION_DAYS", 7))
        self.max_backoff = float(setting(config, "OUTBOX_MAX_BACKOFF_SECONDS", 30.0))
        # After a wake, let the commits of a busy moment gather: one drain (a transaction and
        # two statements) then carries many events instead of one each.
        self.collect = float(setting(config, "OUTBOX_COLLECT_SECONDS", 0.01))
        self.inbox_retention_days = int(setting(config, "INBOX_RETENTION_DAYS", 30))
        self.publisher = Publisher(
            config["AMQP_URI"],
            use_confirms=True,
            serializer=SERIALIZER,
            declare=[self.exchange],
            # Fail fast when the broker is away: the rows stay and the loop tries again.
            retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.5},
        )
        self._wake = Event()
        self._pruned_at = float("-inf")
        self._running = True
        self._failing = False

    def wake(self) -> None:
        if not self._wake.ready():
            self._wake.send(True)

    def stop(self) -> None:
        self._running = False
        self.wake()

    def run(self) -> None:
        backoff = self.poll_interval
        while self._running:
            woken = False
            with eventlet.Timeout(backoff, False):
                woken = self._wake.wait()
            if woken and self.collect > 0 and self._running:
                eventlet.sleep(self.collect)
            self._wake = Event()
            if not self._running:
                break
            try:
                while self.drain_once() == BATCH:
                    pass
                if self._failing:
                    log.info("outbox relay: publishing again", extra={"service": self.service})
                self._failing = False
                backoff = self.poll_interval
            except Exception as exc:  # broker or database away: keep the rows, try later
                if not self._failing:
                    log.warning(
                        "outbox relay cannot publish yet: %s", exc, extra={"service": self.service}
                    )
                self._failing = True
                metrics.OUTBOX_PUBLISH_FAILURES.labels(self.service).inc()
                backoff = min(backoff * 2, self.max_backoff)
                continue
            try:
                self.prune()
            except Exception as exc:  # housekeeping only: publishing is not failing
                log.warning(
                    "outbox relay could not prune: %s", exc, extra={"service": self.service}
                )

    def drain_once(self) -> int:
        """Publish one batch; returns how many rows it published."""
        with self.pool.connection() as conn:
            rows = (
                conn.cursor(row_factory=tuple_row)
                .execute(
                    "SELECT seq, id, type, payload, exchange, routing_key FROM outbox_events "
                    "WHERE published_at IS NULL ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED",
                    (BATCH,),
                )
                .fetchall()
            )
            for _seq, event_id, event_type, payload, exchange, routing_key in rows:
                target = command_exchange(exchange) if exchange else self.exchange
                self.publisher.publish(
                    payload,
                    exchange=target,
                    routing_key=routing_key or event_type,
                    declare=command_declarations(exchange) if exchange else [target],
                    message_id=str(event_id),
                    type=event_type,
                )
                metrics.EVENTS_PUBLISHED.labels(self.service, event_type).inc()
            if rows:
                conn.execute(
                    "UPDATE outbox_events SET published_at = now() WHERE seq = ANY(%s)",
                    ([r[0] for r in rows],),
                )
        return len(rows)

    def prune(self) -> None:
        """Forget what is past its retention, at most once a minute (not per event): published
        events, fired timers, and handled event ids older than any redelivery can be."""
        if time.monotonic() - self._pruned_at < PRUNE_EVERY:
            return
        with self.pool.connection() as conn:
            conn.execute(
                "DELETE FROM outbox_events WHERE published_at < now() - make_interval(days => %s)",
                (self.retention_days,),
            )
            conn.execute(
                "DELETE FROM timers WHERE fired_at < now() - make_interval(days => %s)",
                (self.retention_days,),
            )
            conn.execute(
                "DELETE FROM inbox_events WHERE handled_at < now() - make_interval(days => %s)",
                (self.inbox_retention_days,),
            )
        self._pruned_at = time.monotonic()


def backlog(pool: ConnectionPool) -> tuple[int, float]:
    """Unpublished events and the age in seconds of the oldest one."""
    with pool.connection() as conn:
        row = (
            conn.cursor(row_factory=tuple_row)
            .execute(
                "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) "
                "FROM outbox_events WHERE published_at IS NULL"
            )
            .fetchone()
        )
    assert row is not None
    return int(row[0]), float(row[1])
