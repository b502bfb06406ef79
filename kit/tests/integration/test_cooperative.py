"""A slow query must not stall the other greenthreads (timers, heartbeats, other requests)."""

from __future__ import annotations

import time

import eventlet
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
