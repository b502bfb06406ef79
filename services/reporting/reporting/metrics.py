"""reporting's metrics (the kit's cover latency, consumed events, outbox and dead letters)."""

from prometheus_client import Counter, Gauge

EVENTS = Counter(
    "motcua_reporting_events_total",
    "Events archived and applied, per source and type.",
    ["source", "type"],
)
OPEN = Gauge(
    "motcua_reporting_open_dossiers", "Dossiers an agency holds a step of now.", ["agency"]
)
OVERDUE = Gauge(
    "motcua_reporting_overdue_dossiers",
    "Dossiers an agency holds a step of that is past its due time.",
    ["agency"],
)
LAG = Gauge(
    "motcua_reporting_lag_seconds",
    "How long the last event applied took from happening to being counted in reports.",
)
AGE = Gauge(
    "motcua_reporting_last_event_age_seconds",
    "Time since the last event applied happened (grows when nothing arrives, or when stuck).",
)
