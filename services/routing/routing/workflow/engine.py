"""The engine: apply what the rules decided — save, record, publish, arm timers, send tasks."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from motcua_kit import audit
from motcua_kit.db import UnitOfWork
from motcua_kit.workcal import VN_TZ, WorkCalendar

from routing import metrics
from routing.adapters import repository as repo
from routing.domain import route as steps_rules
from routing.domain.agencies import BUS, Registry
from routing.domain.deadlines import apology_due_at, reminder_at
from routing.domain.route import Effect, Step
from routing.providers import Policy

log = logging.getLogger(__name__)

TASKS_EXCHANGE = "routing.tasks"
REPLIES_EXCHANGE = "routing.replies"
SYSTEM = {"id": "routing", "name": "Hệ thống điều phối", "unit": ""}


def iso(instant: datetime | None) -> str | None:
    return instant.astimezone(VN_TZ).isoformat() if instant else None


def step_data(s: Step) -> dict[str, Any]:
    return {
        "step_id": s.id,
        "code": s.dossier_code,
        "stage": s.stage,
        "index": s.index,
        "attempt": s.attempt,
        "agency": s.agency_code,
        "role": s.role,
        "status": s.status,
        "task": {"vi": s.task_vi, "en": s.task_en},
        "assigned_at": iso(s.assigned_at),
        "due_at": iso(s.due_at),
    }


# --- applying what the rules decided ----------------------------------------------------------


def apply_effects(
    uow: UnitOfWork,
    registry: Registry,
    calendar: WorkCalendar,
    policy: Policy,
    effects: Sequence[Effect],
    now: datetime,
) -> None:
    repo.save_steps(uow, [e.step for e in effects])
    repo.archive_steps(uow, [e.archived for e in effects if e.archived is not None])
    for effect in effects:
        s = effect.step
        action = effect.event_type.removeprefix("step.")
        actor = effect.data.get("actor")
        repo.record_action(uow, s, action, actor, now, dict(effect.data))
        record_step(uow, effect, now)
        uow.emit(effect.event_type, s.dossier_code, {**effect.data, **step_data(s)})
        withdrawn = effect.archived
        if (
            withdrawn is not None
            and withdrawn.agency_code != s.agency_code
            or (effect.event_type == "step.returned")
        ):
            withdraw_task_if_on_bus(uow, registry, withdrawn or s)
        if effect.event_type in ("step.assigned", "step.resumed", "step.reassigned"):
            arm_timers(uow, calendar, policy, s, now)
            if effect.event_type != "step.resumed":
                send_task_if_on_bus(uow, registry, s)
        elif effect.event_type != "step.accepted":  # accepted: its clock runs on, timers stay
            disarm_timers(uow, s)  # finished, paused, or sent back: nothing is due for it now
        if s.status == steps_rules.COMPLETED and s.assigned_at and s.completed_at:
            days = calendar.working_days_between(s.assigned_at, s.completed_at)
            metrics.STEP_DURATION.labels(s.agency_code).observe(days)


def record_step(uow: UnitOfWork, effect: Effect, now: datetime) -> None:
    """The step's move in the dossier's audit chain, by whoever acts in this transaction (an
    officer's request, an agency's reply, the event from intake), else the actor of the move."""
    s = effect.step
    by = audit.attributed(uow, audit.By(dict(effect.data.get("actor") or SYSTEM)))
    details = {k: v for k, v in effect.data.items() if k != "actor"}
    details.update(step_id=s.id, attempt=s.attempt, agency=s.agency_code, status=s.status)
    audit.record_by(uow, s.dossier_code, effect.event_type, by, now, details)


def record_route(uow: UnitOfWork, code: str, action: str, now: datetime, **details: Any) -> None:
    by = audit.attributed(uow, audit.By(dict(SYSTEM)))
    audit.record_by(uow, code, action, by, now, details)


def arm_timers(
    uow: UnitOfWork, calendar: WorkCalendar, policy: Policy, s: Step, now: datetime
) -> None:
    """The step's reminder (office time before due), overdue and lateness-risk check timers."""
    if s.due_at is None:
        return
    payload = {"step_id": s.id}
    timers = [("step.overdue", s.id, s.due_at, payload)]
    if policy.reminder_before > timedelta(0):
        remind_at = reminder_at(s.due_at, calendar, policy.reminder_before)
        timers.append(("step.reminder", s.id, remind_at, payload))
    else:
        uow.cancel_timer("step.reminder", s.id)
    risk = risk_check_timer(uow, policy, s, now)
    uow.schedule_many(timers if risk is None else [*timers, risk])  # one round trip for all


def schedule_risk_check(uow: UnitOfWork, policy: Policy, s: Step, now: datetime) -> None:
    timer = risk_check_timer(uow, policy, s, now)
    if timer is not None:
        uow.schedule(*timer)


def risk_check_timer(
    uow: UnitOfWork, policy: Policy, s: Step, now: datetime
) -> tuple[str, str, datetime, dict[str, Any]] | None:
    """The step's next lateness-risk check, or none (and any armed one cancelled)."""
    if policy.risk_check_every > timedelta(0):
        return ("step.risk_check", s.id, now + policy.risk_check_every, {"step_id": s.id})
    uow.cancel_timer("step.risk_check", s.id)
    return None


def disarm_timers(uow: UnitOfWork, s: Step) -> None:
    uow.cancel_timer("step.reminder", s.id)
    uow.cancel_timer("step.overdue", s.id)
    uow.cancel_timer("step.risk_check", s.id)


def withdraw_task_if_on_bus(uow: UnitOfWork, registry: Registry, s: Step) -> None:
    """Tell an agency's own system that a task it had is no longer its to do."""
    agency = registry.agency(s.agency_code)
    if agency.mode == BUS and s.assigned_at is not None:  # never handed over: nothing to withdraw
        uow.send(TASKS_EXCHANGE, agency.code, "task.withdrawn", s.dossier_code, step_data(s))


def send_task_if_on_bus(uow: UnitOfWork, registry: Registry, s: Step) -> None:
    agency = registry.agency(s.agency_code)
    if agency.mode == BUS:
        uow.send(TASKS_EXCHANGE, agency.code, "task.assigned", s.dossier_code, step_data(s))


def complete_route(uow: UnitOfWork, code: str, steps: Sequence[Step], now: datetime) -> None:
    repo.set_route_status(uow, code, "completed", now)
    uow.cancel_timer("route.apology_check", code)
    results = [
        {"step_id": s.id, "agency": s.agency_code, "result_reference": s.result_reference}
        for s in steps
    ]
    lead = next((s.agency_code for s in steps if s.role == "lead"), "")
    actor = {**SYSTEM, "unit": lead}  # the route as a whole, answered for by its lead agency
    record_route(uow, code, "route.completed", now, agency=lead, results=results)
    uow.emit(
        "route.completed",
        code,
        {"code": code, "at": iso(now), "agency": lead, "actor": actor, "results": results},
    )


def advance(
    uow: UnitOfWork,
    registry: Registry,
    calendar: WorkCalendar,
    policy: Policy,
    code: str,
    now: datetime,
) -> None:
    """After a step moved: end the route on refusal, assign the next stage, or complete it."""
    steps = repo.steps(uow, code)
    if any(s.status == steps_rules.REFUSED for s in steps):
        end_route(uow, registry, code, steps, "refused", now)
        refused = next(s for s in steps if s.status == steps_rules.REFUSED)
        uow.emit(
            "route.refused",
            code,
            {"code": code, "at": iso(now), "agency": refused.agency_code, "reason": refused.note},
        )
        return
    if steps_rules.route_complete(steps):
        complete_route(uow, code, steps, now)
        return
    completed_by = [s for s in steps if s.status == steps_rules.COMPLETED]
    handed_by = dict(completed_by[-1].received_by or SYSTEM) if completed_by else SYSTEM
    assigned = steps_rules.assign_ready(steps, now, calendar, handed_by)
    apply_effects(uow, registry, calendar, policy, assigned, now)


def apology_check_at(appointment: datetime, calendar: WorkCalendar) -> datetime:
    return apology_due_at(appointment, calendar)


def end_route(
    uow: UnitOfWork,
    registry: Registry,
    code: str,
    steps: Sequence[Step],
    status: str,
    now: datetime,
) -> None:
    """Stop every unfinished step (timers off, tasks withdrawn from bus agencies), close the route."""
    cancelled = steps_rules.cancel_all(steps, now)
    repo.save_steps(uow, cancelled)
    for s in cancelled:
        disarm_timers(uow, s)
        withdraw_task_if_on_bus(uow, registry, s)
    uow.cancel_timer("route.apology_check", code)
    repo.set_route_status(uow, code, status, now)
    record_route(uow, code, f"route.{status}", now, steps=[s.id for s in cancelled])
