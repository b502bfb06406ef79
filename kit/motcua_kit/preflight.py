"""Say plainly which of PostgreSQL or RabbitMQ cannot be reached, where we looked, how to start it.

python -m motcua_kit.preflight --database-url ... --amqp-uri ...
"""

from __future__ import annotations

import argparse
import socket
import sys
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

START_POSTGRES = (
    "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
    "  (or: docker compose up -d postgres)"
)
START_RABBITMQ = (
    "start it with: rabbitmq-server -detached  (docker-compose.yml's broker has no guest user: with it,"
    " set AMQP_URI=amqp://motcua:motcua-dev@127.0.0.1:5672/motcua)"
)


def _where_postgres(url: str) -> str:
    info = conninfo_to_dict(url)
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def explain_postgres(url: str, exc: Exception) -> str:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"PostgreSQL is not reachable at {_where_postgres(url)} ({first_line}).\n  {START_POSTGRES}"
    )


def check_postgres(url: str) -> str | None:
    try:
        admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
        with psycopg.connect(admin, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return explain_postgres(url, exc)
    return None


def check_rabbitmq(uri: str) -> str | None:
    parts = urlsplit(uri)
    default_port = 5671 if parts.scheme == "amqps" else 5672
    host, port = parts.hostname or "localhost", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=3):
            pass
    except OSError as exc:
        return f"RabbitMQ is not reachable at {host}:{port} ({exc.strerror or exc}).\n  {START_RABBITMQ}"
    from kombu import Connection

    try:
        with Connection(uri, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:
        return f"RabbitMQ at {host}:{port} refused the connection ({exc}).\n  check AMQP_URI's user, password and vhost"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", action="append", default=[])
    parser.add_argument("--amqp-uri")
    args = parser.parse_args(argv)
    problems = [p for p in (check_postgres(u) for u in args.database_url) if p]
    if args.amqp_uri:
        problem = check_rabbitmq(args.amqp_uri)
        if problem:
            problems.append(problem)
    for problem in problems:
        sys.stderr.write(problem + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
