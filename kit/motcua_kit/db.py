"""PostgreSQL as a nameko DependencyProvider: a psycopg 3 pool and one transaction per worker.

A worker gets a `UnitOfWork`. Its connection is taken from the pool on first use and the
transaction is committed when the worker returns normally, rolled back when it raises. Outgoing
events are written to the outbox in the same transaction (`uow.emit`), so state and events
commit together; the relay publishes them afterwards.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import eventlet
from nameko.extensions import DependencyProvider
from psycopg import Connection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from motcua_kit import cooperative  # noqa: F401  (must precede any psycopg use)
from motcua_kit.config import required, setting
from motcua_kit.events import new_event
from motcua_kit.outbox import OutboxRelay

log = logging.getLogger(__name__)


class UnitOfWork:
    """One worker's transaction. Lazily connects; commit/rollback are the provider's job."""

    def __init__(self, pool: ConnectionPool, source: str) -> None:
        self._pool = pool
        self.pool = pool
        self._source = source
        self._conn: Connection[Any] | None = None
        self.emitted: list[dict[str, Any]] = []

    @property
    def conn(self) -> Connection[Any]:
        if self._conn is None:
            self._conn = self._pool.getconn()
        return self._conn

    def execute(self, sql: str, params: Any = None) -> Any:
        # Rows as dicts per cursor, never on the pooled connection: the relay shares the pool.
        return self.conn.cursor(row_factory=dict_row).execute(sql, params)

    def execute_many(self, sql: str, params_seq: Sequence[Any]) -> None:
        """One statement for many rows; psycopg pipelines them: one round trip, not one each."""
        if params_seq:
            self.conn.cursor().executemany(sql, params_seq)

    def fetchone(self, sql: str, params: Any = None) -> dict[str, Any] | None:
        row: dict[str, Any] | None = self.execute(sql, params).fetchone()
        return row

    def fetchall(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.execute(sql, params).fetchall()
        return rows

    def emit(self, event_type: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
        """Queue a CloudEvent in the outbox, in this transaction."""
        event = new_event(source=self._source, type=event_type, subject=subject, data=data)
        self.execute(
            "INSERT INTO outbox_events (id, type, subject, payload) VALUES (%s, %s, %s, %s)",
            (event["id"], event_type, subject, Jsonb(event)),
        )
        self.emitted.append(event)
        return event

    def send(
        self, exchange: str, routing_key: str, event_type: str, subject: str, data: dict[str, Any]
    ) -> dict[str, Any]:
        """Queue a command (a CloudEvent) for a named direct exchange, in this transaction."""
        event = new_event(source=self._source, type=event_type, subject=subject, data=data)
        self.execute(
            "INSERT INTO outbox_events (id, type, subject, payload, exchange, routing_key) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (event["id"], event_type, subject, Jsonb(event), exchange, routing_key),
        )
        self.emitted.append(event)
        return event

    def schedule(self, kind: str, key: str, due_at: Any, payload: dict[str, Any]) -> None:
        """Set (or move) the timer `kind`/`key`; a fired timer is armed again."""
        self.schedule_many([(kind, key, due_at, payload)])

    def schedule_many(self, timers: Sequence[tuple[str, str, Any, dict[str, Any]]]) -> None:
        """`schedule` for several (kind, key, due_at, payload) timers at once."""
        self.execute_many(
            "INSERT INTO timers (kind, key, due_at, payload) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (kind, key) DO UPDATE SET due_at = EXCLUDED.due_at, "
            "payload = EXCLUDED.payload, fired_at = NULL, attempts = 0, last_error = NULL",
            [(kind, key, due_at, Jsonb(payload)) for kind, key, due_at, payload in timers],
        )

    def cancel_timer(self, kind: str, key: str) -> None:
        self.execute("DELETE FROM timers WHERE kind = %s AND key = %s", (kind, key))

    def claim_due_timers(self, now: Any, limit: int = 100) -> list[dict[str, Any]]:
        """Timers due by `now`, marked fired in this transaction (rolled back: they fire again).

        Replicas skip each other's locked rows, so a timer fires once.
        """
        return self.fetchall(
            "UPDATE timers SET fired_at = %s WHERE id IN ("
            " SELECT id FROM timers WHERE fired_at IS NULL AND due_at <= %s"
            " ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED) "
            "RETURNING kind, key, due_at, payload",
            (now, now, limit),
        )

    def fire_due_timers(
        self, now: Any, handler: Callable[[dict[str, Any]], None], limit: int = 100
    ) -> int:
        """Claim due timers and run `handler` for each in its own savepoint.

        A timer whose handler fails is put back with a growing delay and its error recorded;
        the others of the batch still fire. Returns how many fired.
        """
        fired = 0
        for timer in self.claim_due_timers(now, limit):
            try:
                with self.conn.transaction():
                    handler(timer)
                fired += 1
            except Exception as exc:
                log.exception("timer %s/%s failed", timer["kind"], timer["key"])
                self.execute(
                    "UPDATE timers SET fired_at = NULL, attempts = attempts + 1, "
                    "last_error = %s, due_at = %s + make_interval(secs => least(300, 2 ^ attempts)) "
                    "WHERE kind = %s AND key = %s",
                    (f"{type(exc).__name__}: {exc}"[:1000], now, timer["kind"], timer["key"]),
                )
        return fired

    def claim_event(self, consumer: str, event_id: str) -> bool:
        """Record that `consumer` handles `event_id`; False if it already has.

        The primary key makes this safe under concurrent redelivery: a second transaction
        inserting the same row waits for the first and then finds the conflict.
        """
        row = self.fetchone(
            "INSERT INTO inbox_events (consumer, event_id) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING RETURNING event_id",
            (consumer, event_id),
        )
        return row is not None

    def commit(self) -> None:
        """Commit what is done so far; the worker goes on in a new transaction.

        For a worker that must not hold locks while it waits on the outside world (a sender
        claims rows, commits, sends, then records the outcomes).
        """
        if self._conn is not None:
            self._conn.commit()

    def finish(self, commit: bool) -> None:
        if self._conn is None:
            return
        try:
            if commit:
                self._conn.commit()
            elif not self._conn.broken:  # a lost connection has nothing left to roll back
                self._conn.rollback()
        finally:
            self._pool.putconn(self._conn)  # the pool discards a broken connection
            self._conn = None


class Database(DependencyProvider):
    """Config: `<PREFIX>_DATABASE_URL` (key given by `url_key`), pool size `DB_POOL_SIZE`."""

    def __init__(self, url_key: str = "DATABASE_URL", relay: bool = True) -> None:
        self.url_key = url_key
        self.relay_enabled = relay
        self.pool: ConnectionPool | None = None
        self.relay: OutboxRelay | None = None
        self._uows: dict[Any, UnitOfWork] = {}

    def setup(self) -> None:
        config = self.container.config
        size = int(setting(config, "DB_POOL_SIZE", 10))
        self.pool = ConnectionPool(
            required(config, self.url_key),
            min_size=1,
            max_size=size,
            open=False,
            name=f"{self.container.service_name}-db",
            kwargs={"autocommit": False},
        )
        if self.relay_enabled:
            self.relay = OutboxRelay(self.pool, self.container.service_name, config)

    def start(self) -> None:
        assert self.pool is not None
        self.pool.open(wait=False)
        if self.relay is not None:
            self._relay_thread = self.container.spawn_managed_thread(
                self.relay.run, identifier="outbox-relay"
            )

    def stop(self) -> None:
        if self.relay is not None:
            self.relay.stop()
            thread = getattr(self, "_relay_thread", None)
            if thread is not None:  # let a round in flight finish before the pool closes
                with eventlet.Timeout(5, False):
                    thread.wait()
        if self.pool is not None:
            self.pool.close()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: Any) -> UnitOfWork:
        assert self.pool is not None
        uow = UnitOfWork(self.pool, source=self.container.service_name)
        self._uows[worker_ctx] = uow
        return uow

    def settle(self, worker_ctx: Any, commit: bool) -> None:
        """Commit (or roll back) the worker's transaction now; raises if the commit fails.

        nameko answers an HTTP request or acks a message (`handle_result`) *before* it calls
        `worker_result`, so the kit's entrypoints settle the transaction first: a client never
        hears "created" and a message is never acked for a change that did not commit.
        """
        uow = self._uows.pop(worker_ctx, None)
        if uow is None:
            return
        uow.finish(commit=commit)
        if commit and uow.emitted and self.relay is not None:
            self.relay.wake()

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        # HTTP requests and consumed events are settled before they are answered or acked
        # (`settle_transactions`); what is left here is a timer's transaction. If its commit fails
        # (the database went away), its work is undone and done again on a later tick: an
        # exception raised here would kill the service's container.
        try:
            self.settle(worker_ctx, commit=exc_info is None)
        except Exception:
            log.exception("could not settle the transaction of %s", worker_ctx)

    def worker_teardown(self, worker_ctx: Any) -> None:
        uow = self._uows.pop(worker_ctx, None)
        if uow is not None:  # worker_result was not reached: never leave a transaction open
            uow.finish(commit=False)

    @contextmanager
    def transaction(self) -> Iterator[UnitOfWork]:
        """A unit of work outside any worker (timers of the kit, health checks)."""
        assert self.pool is not None
        with transaction(self.pool, self.container.service_name) as uow:
            yield uow


def settle_transactions(worker_ctx: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
    """Settle every Database of the worker's container before the entrypoint answers."""
    for provider in worker_ctx.container.dependencies:
        if isinstance(provider, Database):
            try:
                provider.settle(worker_ctx, commit=exc_info is None)
            except Exception:  # the commit failed: the caller must hear an error, not success
                log.exception("commit failed for %s", worker_ctx)
                result, exc_info = None, sys.exc_info()
    return result, exc_info


@contextmanager
def transaction(pool: ConnectionPool, source: str) -> Iterator[UnitOfWork]:
    """A unit of work on `pool`, committed when the block ends normally, else rolled back."""
    uow = UnitOfWork(pool, source=source)
    ok = False
    try:
        yield uow
        ok = True
    finally:
        uow.finish(commit=ok)
