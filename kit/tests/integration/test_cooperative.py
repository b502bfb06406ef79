"""A slow query must not stall the other greenthreads (timers, heartbeats, other requests)."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import eventlet
import psycopg
import pytest
import requests
from kittest_services import Emitter
from motcua_kit.db import Database

pytestmark = pytest.mark.integration


def ticks_during(action) -> int:
    ticks = 0

    def ticker() -> None:
        nonlocal ticks
        while True:
            eventlet.sleep(0.05)
            ticks += 1

    thread = eventlet.spawn(ticker)
    try:
        action()
    finally:
        thread.kill()
    return ticks


def test_slow_query_in_an_entrypoint_lets_other_greenthreads_run(emitter):
    reply = None

    def slow_request() -> None:
        nonlocal reply
        reply = requests.get(f"{emitter}/pg_sleep/1.0", timeout=5)

    ticks = ticks_during(slow_request)

    assert reply is not None and reply.status_code == 200, reply
    assert ticks >= 10, f"only {ticks} ticks of 0.05 s during a 1 s query: the hub was blocked"


def test_concurrent_queries_through_the_pool_overlap(container_factory, kit_config):
    container = container_factory(Emitter, kit_config)
    container.start()
    [provider] = [d for d in container.dependencies if isinstance(d, Database)]

    def sleep_half_a_second() -> None:
        with provider.pool.connection() as conn:
            conn.execute("SELECT pg_sleep(0.5)")

    started = time.monotonic()
    threads = [eventlet.spawn(sleep_half_a_second) for _ in range(4)]
    for thread in threads:
        thread.wait()
    elapsed = time.monotonic() - started

    assert elapsed < 1.2, f"four concurrent pg_sleep(0.5) took {elapsed:.2f}s: they ran in turn"


def test_the_kit_installs_its_wait_function():
    import psycopg.waiting
    from motcua_kit.cooperative import wait_trampoline

    assert psycopg.waiting.wait is wait_trampoline


def test_a_query_larger_than_the_socket_buffer_is_sent(kittest_database, monkeypatch):
    """Sending 8 MB makes psycopg wait for read *or* write: the one case left to select."""
    from motcua_kit import cooperative

    selects = 0
    real_select = cooperative.select.select

    def counting_select(*args: Any) -> Any:
        nonlocal selects
        selects += 1
        return real_select(*args)

    monkeypatch.setattr(cooperative.select, "select", counting_select)
    with psycopg.connect(kittest_database) as conn:
        # A small send buffer, so that sending fills it whatever the server's pace (with the
        # default buffers a fast server sometimes read it all without the client ever waiting).
        sock = socket.socket(fileno=os.dup(conn.fileno()))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        sock.close()  # the duplicate only: the option stays on the connection's socket
        for _ in range(5):
            row = conn.execute("SELECT length(%s::text)", ("x" * 8_000_000,)).fetchone()
            assert row == (8_000_000,)
            if selects:
                break

    assert selects > 0, "the query never waited to write: the case is not exercised"


def test_a_wait_with_a_deadline_returns_when_it_expires(kittest_database):
    """psycopg's own deadlines (here `notifies(timeout=…)`) still end on time."""
    with psycopg.connect(kittest_database, autocommit=True) as conn:
        conn.execute("LISTEN kittest_nobody_notifies")
        started = time.monotonic()
        with eventlet.Timeout(5):  # a deadline ignored would wait for ever
            received = list(conn.notifies(timeout=0.3))
        elapsed = time.monotonic() - started

    assert received == []
    assert 0.25 <= elapsed < 2.0, elapsed


def test_a_connection_the_server_ends_raises_instead_of_hanging(kittest_database):
    with (
        psycopg.connect(kittest_database, autocommit=True) as victim,
        psycopg.connect(kittest_database, autocommit=True) as killer,
    ):
        pid = victim.info.backend_pid
        waiter = eventlet.spawn(victim.execute, "SELECT pg_sleep(30)")
        eventlet.sleep(0.3)
        killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with eventlet.Timeout(5), pytest.raises(psycopg.OperationalError):
            waiter.wait()
