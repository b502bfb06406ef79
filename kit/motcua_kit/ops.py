"""What operators read: `/health` (database and broker reachable?) and `/metrics`."""

from __future__ import annotations

from typing import Any

from kombu import Connection
from psycopg_pool import ConnectionPool
from werkzeug.wrappers import Request, Response

from motcua_kit import metrics
from motcua_kit.consumer import dead_letter_queue_name
from motcua_kit.http import http, json_response
from motcua_kit.outbox import backlog


def health(pool: ConnectionPool, amqp_uri: str) -> tuple[int, dict[str, Any]]:
    checks: dict[str, str] = {}
    try:
        with pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        with Connection(amqp_uri, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"unreachable: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return (200 if healthy else 503), {"status": "ok" if healthy else "degraded", "checks": checks}


def dead_letter_depth(amqp_uri: str, queue_name: str) -> int | None:
    """Messages waiting in a dead-letter queue, or None when the broker cannot be asked."""
    try:
        with Connection(amqp_uri, connect_timeout=2) as conn:
            _name, count, _consumers = conn.default_channel.queue_declare(
                queue=queue_name, durable=True, passive=True
            )
            return int(count)
    except Exception:
        return None


def metrics_exposition(service: str, pool: ConnectionPool, amqp_uri: str) -> tuple[bytes, str]:
    """Refresh the gauges read from the database and the broker, then render everything."""
    try:
        count, age = backlog(pool)
        metrics.OUTBOX_BACKLOG.labels(service).set(count)
        metrics.OUTBOX_OLDEST_AGE.labels(service).set(age)
    except Exception:  # noqa: S110  (the scrape still answers; /health says what is down)
        pass
    depth = dead_letter_depth(amqp_uri, dead_letter_queue_name(service))
    if depth is not None:
        metrics.DEAD_LETTER_DEPTH.labels(service).set(depth)
    return metrics.exposition()


class OpsEndpoints:
    """`/health` and `/metrics` for a service class that has `db` (Database) and `config` (Config).

    A service adds its own gauges by overriding `refresh_gauges`, called before each scrape.
    """

    name: str
    db: Any
    config: Any

    def refresh_gauges(self) -> None:
        """Set the service's own gauges from its database before a scrape."""

    @http("GET", "/health", public=True)
    def health(self, request: Request) -> Response:
        status, body = health(self.db.pool, self.config["AMQP_URI"])
        return json_response(body, status)

    @http("GET", "/metrics", public=True)
    def metrics(self, request: Request) -> Response:
        self.refresh_gauges()
        payload, content_type = metrics_exposition(self.name, self.db.pool, self.config["AMQP_URI"])
        return Response(payload, content_type=content_type)
