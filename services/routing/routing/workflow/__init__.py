"""routing's use cases: build a dossier's route, move its steps, tell everyone.

Each function takes the worker's unit of work and plain values. Rules live in domain/; SQL in
adapters/repository.py; these modules string them together in one transaction, with the events
(outbox) and the tasks for agencies on the bus (commands through `routing.tasks`):

- engine: apply what the rules decided (save, record, publish, timers, tasks);
- actions / bus: what an agency does to its step, over HTTP or as a reply on the bus;
- intake_events: a dossier received (its route opens), supplements arrived, the dossier ended;
- deadlines / risk: due timers, the apology (Form 04), the lateness risk;
- views: the control slip (Form 05) and the task lists.
"""

from routing.workflow.actions import act, reassign
from routing.workflow.bus import bus_reply
from routing.workflow.deadlines import apologise, fire
from routing.workflow.engine import REPLIES_EXCHANGE, SYSTEM, TASKS_EXCHANGE, step_data
from routing.workflow.intake_events import (
    dossier_ended,
    open_route,
    supplement_requested_at_desk,
    supplements_arrived,
)
from routing.workflow.risk import Workload, refresh_gauges, step_risk
from routing.workflow.views import audit_view, route_view, tasks_view

__all__ = [
    "REPLIES_EXCHANGE",
    "SYSTEM",
    "TASKS_EXCHANGE",
    "Workload",
    "act",
    "apologise",
    "audit_view",
    "bus_reply",
    "dossier_ended",
    "fire",
    "open_route",
    "reassign",
    "refresh_gauges",
    "route_view",
    "step_data",
    "step_risk",
    "supplement_requested_at_desk",
    "supplements_arrived",
    "tasks_view",
]
