"""routing's business metrics (the kit's cover latency, outbox and dead letters)."""

from prometheus_client import Counter, Gauge, Histogram

OPEN_STEPS = Gauge(
    "motcua_routing_open_steps", "Steps an agency holds and has not finished.", ["agency"]
)
OVERDUE_STEPS = Gauge(
    "motcua_routing_overdue_steps", "Open steps past their due instant.", ["agency"]
)
STEPS_AT_RISK = Gauge(
    "motcua_routing_steps_at_risk",
    "Held steps not yet due whose lateness risk is at least RISK_THRESHOLD (at scrape time).",
    ["agency"],
)
OVERDUE_STEPS_TOTAL = Counter(
    "motcua_routing_steps_overdue_total", "Steps that passed their due instant.", ["agency"]
)
STEP_DURATION = Histogram(
    "motcua_routing_step_duration_working_days",
    "Working days from assignment to completion.",
    ["agency"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13),
)
REJECTED_REPLIES = Counter(
    "motcua_routing_rejected_replies_total", "Replies from agencies' systems refused.", ["reason"]
)
