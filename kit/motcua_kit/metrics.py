"""Prometheus metrics common to every service, and the entrypoint latency recorder.

Metric objects live at module level (one registry per process) and carry a `service` label, so
several containers in one test process do not clash. Service-specific business counters live in
each service's own `metrics.py`.
"""

from __future__ import annotations

import time
from typing import Any

from nameko.extensions import DependencyProvider
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

ENTRYPOINT_LATENCY = Histogram(
    "motcua_entrypoint_duration_seconds",
    "Time spent in a service entrypoint, by outcome.",
    ["service", "entrypoint", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge(
    "motcua_outbox_backlog", "Events committed but not yet published.", ["service"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "motcua_outbox_oldest_age_seconds", "Age of the oldest unpublished event.", ["service"]
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "motcua_outbox_publish_failures_total", "Relay rounds that could not publish.", ["service"]
)
EVENTS_PUBLISHED = Counter(
    "motcua_events_published_total", "Events published from the outbox.", ["service", "type"]
)
EVENTS_CONSUMED = Counter(
    "motcua_events_consumed_total",
    "Events handled by a consumer, by outcome (handled, duplicate, retried, dead_lettered).",
    ["service", "consumer", "outcome"],
)
DEAD_LETTERED = Counter(
    "motcua_dead_lettered_total", "Messages moved to the dead-letter queue.", ["service", "reason"]
)
DEAD_LETTER_DEPTH = Gauge(
    "motcua_dead_letter_messages",
    "Messages waiting in the service's dead-letter queue.",
    ["service"],
)


def outcome_of(result: Any, exc_info: Any) -> str:
    if exc_info is not None:
        return "error"
    status = result[0] if isinstance(result, tuple) else getattr(result, "status_code", 200)
    return f"{int(status) // 100}xx" if isinstance(status, int) else "ok"


class EntrypointMetrics(DependencyProvider):
    """Times every worker of the service: histogram + count by entrypoint and outcome."""

    def __init__(self) -> None:
        self._started: dict[Any, float] = {}

    def worker_setup(self, worker_ctx: Any) -> None:
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx: Any, result: Any = None, exc_info: Any = None) -> None:
        started = self._started.pop(worker_ctx, None)
        if started is None:
            return
        ENTRYPOINT_LATENCY.labels(
            self.container.service_name,
            worker_ctx.entrypoint.method_name,
            outcome_of(result, exc_info),
        ).observe(time.perf_counter() - started)

    def worker_teardown(self, worker_ctx: Any) -> None:
        self._started.pop(worker_ctx, None)


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
