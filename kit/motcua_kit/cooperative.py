"""Make psycopg 3 yield to eventlet instead of blocking the whole process.

psycopg's default wait function (a C loop) blocks the eventlet hub: one slow query would stop every
other greenthread, AMQP heartbeats included (measured in shared/docs/nameko-notes.md).
`wait_select` goes through `select.select`, which eventlet patches; `wait_poll`/`wait_epoll`
crash under eventlet, which removes `select.poll`.

`wait_trampoline` waits on eventlet's hub directly: one listener per wait and no timer, where the
patched `select.select` adds a listener per list and a timer for psycopg's 0.1 s polling interval
(which only exists to let Ctrl-C through, and eventlet delivers signals anyway). Every query waits
once, so this is paid on every round trip: 15 – 20 % less CPU per transaction in the client process
(docs/performance.md). The rare waits it does not fit (read *and* write at once, a wait with a
deadline) go through `select.select` as before.
"""

from __future__ import annotations

import os
import select
from typing import TypeVar

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import psycopg.waiting  # noqa: E402  (the variable above must be set first)
from eventlet.hubs import trampoline  # noqa: E402
from psycopg import errors  # noqa: E402
from psycopg.abc import PQGen  # noqa: E402
from psycopg.waiting import READY_R, READY_W, WAIT_R, WAIT_W, Ready  # noqa: E402

RV = TypeVar("RV")


def wait_trampoline(
    gen: PQGen[RV], fileno: int, interval: float = 0.0, timeout: float | None = None
) -> RV:
    """psycopg's `wait` contract: drive `gen`, sending it what the socket is ready for."""
    if timeout is not None:
        return psycopg.waiting.wait_select(gen, fileno, interval, timeout)
    try:
        state = next(gen)
        while True:
            if state == WAIT_R:
                trampoline(fileno, read=True)
                ready = READY_R
            elif state == WAIT_W:
                trampoline(fileno, write=True)
                ready = READY_W
            else:  # WAIT_RW: a query larger than the socket's buffer, still being sent
                readable, writable, _ = select.select([fileno], [fileno], [])
                ready = Ready((READY_R if readable else 0) | (READY_W if writable else 0))
            state = gen.send(ready)
    except OSError as exc:  # eventlet's IOClosed: the socket was closed under the wait
        raise errors.OperationalError("connection socket closed") from exc
    except StopIteration as done:
        result: RV = done.value
        return result


def make_psycopg_cooperative() -> None:
    psycopg.waiting.wait = wait_trampoline


make_psycopg_cooperative()
