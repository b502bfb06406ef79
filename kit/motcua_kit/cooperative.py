"""Make psycopg 3 yield to eventlet instead of blocking the whole process.

psycopg's default wait function (a C loop) blocks the eventlet hub: one slow query would stop every
other greenthread, AMQP heartbeats included (measured in shared/docs/nameko-notes.md).
`wait_select` goes through `select.select`, which eventlet patches. `wait_poll`/`wait_epoll`
crash under eventlet, which removes `select.poll`.
"""

from __future__ import annotations

import os

os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")

import psycopg.waiting  # noqa: E402  (the variable above must be set first)


def make_psycopg_cooperative() -> None:
    psycopg.waiting.wait = psycopg.waiting.wait_select


make_psycopg_cooperative()
