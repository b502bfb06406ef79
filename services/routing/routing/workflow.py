"""routing's use cases: build a dossier's route, move its steps, tell everyone.

Each function takes the worker's unit of work and plain values. Rules live in domain/; SQL in
adapters/repository.py; this module strings them together in one transaction, with the events
(outbox) and the tasks for agencies on the bus (commands through `routing.tasks`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from marshmallow import Schema, ValidationError
from motcua_kit.auth import Officer
from motcua_kit.db import UnitOfWork
from motcua_kit.errors import ApiError, PermanentError, not_found
from motcua_kit.workcal import VN_TZ, WorkCalendar

from routing import metrics
from routing.adapters import repository as repo
from routing.domain import route as steps_rules
from routing.domain.agencies import BUS, Registry, UnknownAgency
from routing.domain.deadlines import lateness_risk
from routing.domain.route import HELD, Effect, Step
from routing.domain.slip import control_slip
from routing.providers import Policy
from routing.schemas import CompleteSchema, ReasonSchema, SupplementRequestSchema

log = logging.getLogger(__name__)

TASKS_EXCHANGE = "routing.tasks"
REPLIES_EXCHANGE = "routing.replies"
RECENT_COMPLETIONS = 20  # an agency's recent pace: its last completed steps
SYSTEM = {"id": "routing", "name": "Hệ thống điều phối", "unit": ""}


def _iso(instant: datetime | None) -> str | None:
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
        "assigned_at": _iso(s.assigned_at),
        "due_at": _iso(s.due_at),
    }


# --- opening a route ---------------------------------------------------------------------------


def open_route(
    uow: UnitOfWork,
    registry: Registry,
    calendar: WorkCalendar,
    policy: Policy,
    event: Mapping[str, Any],
    now: datetime,
) -> None:
    data = event["data"]
    code, unit, procedure = data["code"], data["unit"], data["procedure"]
    appointment = datetime.fromisoformat(data["due_at"])
    try:
        planned = steps_rules.plan_route(code, unit, procedure.get("route") or {}, registry)
    except UnknownAgency as exc:  # the registry lacks an agency: an operator must add it
        raise PermanentError(
            f"no agency for {exc} (unit {unit}); add it to the agencies file"
        ) from exc
    if not repo.insert_route(uow, code, unit, procedure, appointment):
        return
    repo.save_steps(uow, planned)
    uow.schedule(
        "route.apology_check", code, _apology_check_at(appointment, calendar), {"code": code}
    )
    handed_by = data.get("received_by") or SYSTEM
    assigned = steps_rules.assign_ready(planned, now, calendar, handed_by)
    _apply(uow, registry, calendar, policy, assigned, now)
    if not planned:  # a procedure decided at the desk itself: nothing to route
        _complete_route(uow, code, [], now)


def _apology_check_at(appointment: datetime, calendar: WorkCalendar) -> datetime:
    from routing.domain.deadlines import apology_due_at

    return apology_due_at(appointment, calendar)


# --- applying what the rules decided ----------------------------------------------------------


def _apply(
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
        uow.emit(effect.event_type, s.dossier_code, {**effect.data, **step_data(s)})
        withdrawn = effect.archived
        if (
            withdrawn is not None
            and withdrawn.agency_code != s.agency_code
            or (effect.event_type == "step.returned")
        ):
            _withdraw_task_if_on_bus(uow, registry, withdrawn or s)
        if effect.event_type in ("step.assigned", "step.resumed", "step.reassigned"):
            _arm_timers(uow, calendar, policy, s, now)
            if effect.event_type != "step.resumed":
                _send_task_if_on_bus(uow, registry, s)
        elif effect.event_type != "step.accepted":  # accepted: its clock runs on, timers stay
            _disarm_timers(uow, s)  # finished, paused, or sent back: nothing is due for it now
        if s.status == steps_rules.COMPLETED and s.assigned_at and s.completed_at:
            days = calendar.working_days_between(s.assigned_at, s.completed_at)
            metrics.STEP_DURATION.labels(s.agency_code).observe(days)


def _arm_timers(
    uow: UnitOfWork, calendar: WorkCalendar, policy: Policy, s: Step, now: datetime
) -> None:
    """The step's reminder (office time before due), overdue and lateness-risk check timers."""
    from routing.domain.deadlines import reminder_at

    if s.due_at is None:
        return
    if policy.reminder_before > timedelta(0):
        remind_at = reminder_at(s.due_at, calendar, policy.reminder_before)
        uow.schedule("step.reminder", s.id, remind_at, {"step_id": s.id})
    else:
        uow.cancel_timer("step.reminder", s.id)
    uow.schedule("step.overdue", s.id, s.due_at, {"step_id": s.id})
    _schedule_risk_check(uow, policy, s, now)


def _schedule_risk_check(uow: UnitOfWork, policy: Policy, s: Step, now: datetime) -> None:
    if policy.risk_check_every > timedelta(0):
        at = now + policy.risk_check_every
        uow.schedule("step.risk_check", s.id, at, {"step_id": s.id})
    else:
        uow.cancel_timer("step.risk_check", s.id)


def _disarm_timers(uow: UnitOfWork, s: Step) -> None:
    uow.cancel_timer("step.reminder", s.id)
    uow.cancel_timer("step.overdue", s.id)
    uow.cancel_timer("step.risk_check", s.id)


def _withdraw_task_if_on_bus(uow: UnitOfWork, registry: Registry, s: Step) -> None:
    """Tell an agency's own system that a task it had is no longer its to do."""
    agency = registry.agency(s.agency_code)
    if agency.mode == BUS and s.assigned_at is not None:  # never handed over: nothing to withdraw
        uow.send(TASKS_EXCHANGE, agency.code, "task.withdrawn", s.dossier_code, step_data(s))


def _send_task_if_on_bus(uow: UnitOfWork, registry: Registry, s: Step) -> None:
    agency = registry.agency(s.agency_code)
    if agency.mode == BUS:
        uow.send(TASKS_EXCHANGE, agency.code, "task.assigned", s.dossier_code, step_data(s))


def _complete_route(uow: UnitOfWork, code: str, steps: Sequence[Step], now: datetime) -> None:
    repo.set_route_status(uow, code, "completed", now)
    uow.cancel_timer("route.apology_check", code)
    results = [
        {"step_id": s.id, "agency": s.agency_code, "result_reference": s.result_reference}
        for s in steps
    ]
    lead = next((s.agency_code for s in steps if s.role == "lead"), "")
    actor = {**SYSTEM, "unit": lead}  # the route as a whole, answered for by its lead agency
    uow.emit(
        "route.completed",
        code,
        {"code": code, "at": _iso(now), "agency": lead, "actor": actor, "results": results},
    )


# --- actions on a step ---------------------------------------------------------------------


def _open_route_steps(uow: UnitOfWork, step_id: str) -> tuple[Step, list[Step]]:
    code = step_id.rsplit("/", 1)[0]
    found = repo.route(uow, code)
    if found is None:
        raise not_found(f"Không tìm thấy bước xử lý {step_id}")
    steps = repo.lock_route_steps(uow, code)
    target = next((s for s in steps if s.id == step_id), None)
    if target is None:
        raise not_found(f"Không tìm thấy bước xử lý {step_id}")
    if found["status"] != "open":
        raise ApiError(
            409, "route_closed", "Hồ sơ đã kết thúc xử lý", extra={"status": found["status"]}
        )
    return target, steps


def _require_holder(s: Step, agency_code: str) -> None:
    if s.agency_code != agency_code:
        raise ApiError(403, "not_step_holder", "Bước xử lý này không thuộc cơ quan của cán bộ")


def act(
    uow: UnitOfWork,
    registry: Registry,
    calendar: WorkCalendar,
    policy: Policy,
    actor: Mapping[str, str],
    agency_code: str,
    step_id: str,
    action: str,
    body: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """An action by the agency that holds the step (a worklist officer or a bus reply)."""
    s, steps = _open_route_steps(uow, step_id)
    _require_holder(s, agency_code)
    if action == "accept":
        effects = [steps_rules.accept(s, now, actor)]
    elif action == "complete":
        effects = [steps_rules.complete(s, now, actor, body["result_reference"], body.get("note"))]
    elif action == "request_supplement":
        if repo.supplement_requested_before(uow, s.dossier_code):
            raise ApiError(
                409,
                "supplement_already_requested",
                "Hồ sơ đã được yêu cầu bổ sung một lần; chỉ được yêu cầu bổ sung một lần",
            )
        effect = steps_rules.request_supplement(s, now, calendar)
        effects = [
            Effect(
                effect.step,
                effect.event_type,
                {
                    **effect.data,
                    "actor": dict(actor),
                    "missing": body["missing"],
                    "reason": body["reason"],
                },
            )
        ]
    elif action == "refuse":
        effects = [steps_rules.refuse(s, now, actor, body["reason"])]
    elif action == "return":
        effects = steps_rules.return_to_previous(
            steps, step_id, now, calendar, actor, body["reason"]
        )
    else:  # pragma: no cover - the entrypoints only pass the actions above
        raise ApiError(400, "unknown_action", action)
    _apply(uow, registry, calendar, policy, effects, now)
    _after(uow, registry, calendar, policy, s.dossier_code, now)
    return {"step": step_data(repo.step(uow, step_id) or s)}


def reassign(
    uow: UnitOfWork,
    registry: Registry,
    calendar: WorkCalendar,
    policy: Policy,
    supervisor: Officer,
    step_id: str,
    agency_code: str,
    now: datetime,
) -> dict[str, Any]:
    s, _steps = _open_route_steps(uow, step_id)
    found = repo.route(uow, s.dossier_code)
    if found and found["unit"] != supervisor.unit and not supervisor.has_any(("admin",)):
        raise ApiError(
            403, "other_unit", "Chỉ lãnh đạo đơn vị tiếp nhận hồ sơ mới được chuyển bước"
        )
    try:
        registry.agency(agency_code)
    except UnknownAgency as exc:
        raise ApiError(422, "unknown_agency", f"Không có cơ quan {agency_code}") from exc
    effect = steps_rules.reassign(s, agency_code, now, calendar, supervisor.as_actor())
    _apply(uow, registry, calendar, policy, [effect], now)
    return {"step": step_data(effect.step)}


def _after(
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
        cancelled = steps_rules.cancel_all(steps, now)
        repo.save_steps(uow, cancelled)
        for s in cancelled:
            _disarm_timers(uow, s)
            _withdraw_task_if_on_bus(uow, registry, s)
        refused = next(s for s in steps if s.status == steps_rules.REFUSED)
        repo.set_route_status(uow, code, "refused", now)
        uow.cancel_timer("route.apology_check", code)
        uow.emit(
            "route.refused",
            code,
            {"code": code, "at": _iso(now), "agency": refused.agency_code, "reason": refused.note},
        )
        return
    if steps_rules.route_complete(steps):
        _complete_route(uow, code, steps, now)
        return
    completed_by = [s for s in steps if s.status == steps_rules.COMPLETED]
    handed_by = dict(completed_by[-1].received_by or SYSTEM) if completed_by else SYSTEM
    assigned = steps_rules.assign_ready(steps, now, calendar, handed_by)
    _apply(uow, registry, calendar, policy, assigned, now)


# --- events from intake ----------------------------------------------------------------------


def supplements_arrived(
    uow: UnitOfWork,
    registry: Registry,
    calendar: WorkCalendar,
    policy: Policy,
    event: Mapping[str, Any],
    now: datetime,
) -> None:
    code = event["data"]["code"]
    if repo.route(uow, code) is None:
        return
    steps = repo.lock_route_steps(uow, code)
    waiting = [s for s in steps if s.status == steps_rules.AWAITING_SUPPLEMENT]
    resumed = [steps_rules.resume(s, now, calendar) for s in waiting]
    _apply(uow, registry, calendar, policy, resumed, now)
    if event["data"].get("due_at"):  # the dossier's clock moved too: so does the apology check
        appointment = datetime.fromisoformat(event["data"]["due_at"])
        repo.set_appointment(uow, code, appointment)
        uow.schedule(
            "route.apology_check", code, _apology_check_at(appointment, calendar), {"code": code}
        )


def dossier_ended(
    uow: UnitOfWork, registry: Registry, event: Mapping[str, Any], now: datetime
) -> None:
    """Refused or withdrawn at the desk: the agencies stop working on it."""
    code = event["data"]["code"]
    found = repo.route(uow, code, for_update=True)
    if found is None or found["status"] != "open":
        return
    cancelled = steps_rules.cancel_all(repo.steps(uow, code), now)
    repo.save_steps(uow, cancelled)
    for s in cancelled:
        _disarm_timers(uow, s)
        _withdraw_task_if_on_bus(uow, registry, s)
    uow.cancel_timer("route.apology_check", code)
    repo.set_route_status(uow, code, "cancelled", now)
    uow.emit("route.cancelled", code, {"code": code, "at": _iso(now), "reason": event["type"]})


# --- replies from agencies on the bus --------------------------------------------------------

REPLY_ACTIONS = ("accept", "complete", "request_supplement", "refuse", "return")
# A reply's data is checked with the same schemas as the worklist's HTTP requests.
REPLY_SCHEMAS: dict[str, type[Schema]] = {
    "accept": Schema,
    "complete": CompleteSchema,
    "request_supplement": SupplementRequestSchema,
    "refuse": ReasonSchema,
    "return": ReasonSchema,
}
REPLY_FIELDS = {name: set(schema().fields) for name, schema in REPLY_SCHEMAS.items()}


def bus_reply(
    uow: UnitOfWork,
    registry: Registry,
    calendar: WorkCalendar,
    policy: Policy,
    event: Mapping[str, Any],
    user_id: str | None,
    now: datetime,
) -> None:
    """A reply counts only from the agency whose RabbitMQ user the broker validated."""
    agency = registry.by_amqp_user(user_id) if user_id else None
    if agency is None:
        metrics.REJECTED_REPLIES.labels("unknown_sender").inc()
        raise PermanentError(f"reply from unknown or unvalidated user {user_id!r}")
    data = event["data"]
    action, step_id = data.get("action"), data.get("step_id")
    if action not in REPLY_ACTIONS or not isinstance(step_id, str):
        metrics.REJECTED_REPLIES.labels("malformed").inc()
        raise PermanentError(f"reply needs step_id and an action among {REPLY_ACTIONS}")
    if repo.step(uow, step_id) is None:
        metrics.REJECTED_REPLIES.labels("unknown_step").inc()
        raise PermanentError(f"reply for unknown step {step_id}")
    actor = {
        "id": data.get("officer_id") or agency.code,
        "name": data.get("officer_name") or agency.name_vi,
        "unit": agency.code,
    }
    try:
        body = REPLY_SCHEMAS[action]().load(
            {k: v for k, v in data.items() if k in REPLY_FIELDS[action]}
        )
        act(uow, registry, calendar, policy, actor, agency.code, step_id, action, body, now)
    except ApiError as exc:
        metrics.REJECTED_REPLIES.labels(exc.code).inc()
        raise PermanentError(f"{exc.code}: {exc.message}") from exc
    except ValidationError as exc:
        metrics.REJECTED_REPLIES.labels("invalid").inc()
        raise PermanentError(f"invalid reply: {exc.messages}") from exc


# --- reading -----------------------------------------------------------------------------------


def route_view(
    uow: UnitOfWork,
    registry: Registry,
    calendar: WorkCalendar,
    officer: Officer,
    code: str,
    now: datetime,
) -> dict[str, Any]:
    found = repo.route(uow, code)
    if found is None:
        raise not_found(f"Không tìm thấy hồ sơ {code} trong điều phối liên thông")
    steps = repo.steps(uow, code) + repo.archived(uow, code)
    involved = {found["unit"], *(s.agency_code for s in steps)}
    if officer.unit not in involved and not officer.has_any(("admin",)):
        raise ApiError(403, "not_involved", "Đơn vị của cán bộ không tham gia giải quyết hồ sơ này")
    rows = control_slip(steps, registry, calendar, now)
    held = [s for s in steps if s.status in HELD]
    loads = workloads(uow, calendar, [s.agency_code for s in held])
    risks = {(s.id, s.attempt): step_risk(s, loads[s.agency_code], now, calendar) for s in held}
    known = [r for r in risks.values() if r is not None]
    return {
        "code": code,
        "status": found["status"],
        "appointment_at": _iso(found["appointment_at"]),
        "lateness_risk": _rounded(max(known)) if known else None,
        "form": "05",
        "form_title": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
        "rows": [
            {**_row(r), "lateness_risk": _rounded(risks.get((r.step_id, r.attempt)))} for r in rows
        ],
    }


def _row(row: Any) -> dict[str, Any]:
    return {k: (_iso(v) if isinstance(v, datetime) else v) for k, v in asdict(row).items()}


def tasks_view(
    uow: UnitOfWork, calendar: WorkCalendar, agency_code: str, now: datetime
) -> dict[str, Any]:
    """An agency's open steps, soonest due first, each with its lateness risk (null while its
    clock is stopped for supplements)."""
    tasks = repo.agency_tasks(uow, agency_code)
    load = workloads(uow, calendar, [agency_code])[agency_code]
    return {
        "agency": agency_code,
        "tasks": [
            {**step_data(s), "lateness_risk": _rounded(step_risk(s, load, now, calendar))}
            for s in tasks
        ],
    }


# --- lateness risk (beyond the law: an estimate from the agency's backlog and pace) -------------


@dataclass(frozen=True)
class Workload:
    """An agency's desk: the open steps it holds and its recent working days per finished step."""

    open_steps: int
    recent_days: tuple[float, ...]

    def backlog(self, s: Step) -> int:
        """The open steps the agency holds besides ``s`` (counted in ``open_steps`` if open)."""
        return max(self.open_steps - (1 if s.status in steps_rules.OPEN else 0), 0)


def workloads(
    uow: UnitOfWork, calendar: WorkCalendar, agency_codes: Sequence[str]
) -> dict[str, Workload]:
    """Each agency's workload: open steps, and its last completed steps in working days."""
    codes = sorted(set(agency_codes))
    if not codes:
        return {}
    counts = repo.open_step_counts(uow, codes)
    recent = repo.recent_completions(uow, codes, RECENT_COMPLETIONS)
    return {
        code: Workload(
            counts.get(code, 0),
            tuple(calendar.working_days_between(a, b) for a, b in recent.get(code, [])),
        )
        for code in codes
    }


def step_risk(s: Step, load: Workload, now: datetime, calendar: WorkCalendar) -> float | None:
    """The risk (0..1) that a held step finishes late; None unless its clock runs (held)."""
    if s.status not in HELD or s.due_at is None:
        return None
    return lateness_risk(now, s.due_at, load.backlog(s), load.recent_days, calendar)


def _rounded(risk: float | None) -> float | None:
    return None if risk is None else round(risk, 2)


def check_risk(
    uow: UnitOfWork, calendar: WorkCalendar, policy: Policy, step_id: str, now: datetime
) -> None:
    """The `step.risk_check` timer: warn the holder's supervisor before the step is due.

    Raised once per hand-over (step and attempt), while the step is held and not yet due; the
    next check is armed until then. Once due, `step.overdue` speaks instead.
    """
    s = repo.step(uow, step_id)
    if s is None or s.status not in HELD or s.due_at is None or now >= s.due_at:
        return
    if repo.at_risk_raised(uow, s):
        return
    load = workloads(uow, calendar, [s.agency_code])[s.agency_code]
    risk = step_risk(s, load, now, calendar)
    if risk is None or risk < policy.risk_threshold:
        _schedule_risk_check(uow, policy, s, now)
        return
    details = {"attempt": s.attempt, "lateness_risk": round(risk, 2), "backlog": load.backlog(s)}
    repo.record_action(uow, s, "at_risk", SYSTEM, now, details)
    data = {
        **step_data(s),
        "at": _iso(now),
        "lateness_risk": details["lateness_risk"],
        "backlog": details["backlog"],
        "escalate_to": {"agency": s.agency_code, "role": "supervisor"},
    }
    uow.emit("step.at_risk", s.dossier_code, data)


def at_risk_by_agency(
    uow: UnitOfWork, calendar: WorkCalendar, policy: Policy, now: datetime
) -> dict[str, int]:
    """Held steps not yet due whose lateness risk is at least the threshold, per agency."""
    held = [s for s in repo.held_steps(uow) if s.due_at is not None and now < s.due_at]
    loads = workloads(uow, calendar, [s.agency_code for s in held])
    counts: dict[str, int] = {}
    for s in held:
        risk = step_risk(s, loads[s.agency_code], now, calendar)
        if risk is not None and risk >= policy.risk_threshold:
            counts[s.agency_code] = counts.get(s.agency_code, 0) + 1
    return counts


def refresh_gauges(
    uow: UnitOfWork, registry: Registry, calendar: WorkCalendar, policy: Policy, now: datetime
) -> None:
    """The per-agency step gauges, at scrape time; an agency with nothing open reads 0."""
    rows = {r["agency_code"]: r for r in repo.open_and_overdue_by_agency(uow, now)}
    at_risk = at_risk_by_agency(uow, calendar, policy, now)
    for code in sorted(set(registry.agencies) | set(rows)):
        row = rows.get(code, {})
        metrics.OPEN_STEPS.labels(code).set(row.get("open", 0))
        metrics.OVERDUE_STEPS.labels(code).set(row.get("overdue", 0))
        metrics.STEPS_AT_RISK.labels(code).set(at_risk.get(code, 0))


# --- timers -----------------------------------------------------------------------------------


def fire(
    uow: UnitOfWork,
    registry: Registry,
    calendar: WorkCalendar,
    policy: Policy,
    timer: Mapping[str, Any],
    now: datetime,
) -> None:
    """A due timer: remind, warn of a lateness risk, mark overdue and escalate, or ask for an
    apology (Form 04)."""
    from routing.domain.deadlines import will_miss

    kind, key = timer["kind"], timer["key"]
    if kind == "step.risk_check":
        check_risk(uow, calendar, policy, key, now)
    elif kind in ("step.reminder", "step.overdue"):
        s = repo.step(uow, key)
        if s is None or s.status not in (steps_rules.ASSIGNED, steps_rules.ACCEPTED):
            return
        data = {**step_data(s), "at": _iso(now)}
        if kind == "step.overdue":
            data["escalate_to"] = {"agency": s.agency_code, "role": "supervisor"}
            metrics.OVERDUE_STEPS_TOTAL.labels(s.agency_code).inc()
        uow.emit(kind, s.dossier_code, data)
    elif kind == "route.apology_check":
        found = repo.route(uow, key)
        if found is None or found["status"] != "open" or found.get("apology"):
            return
        steps = repo.steps(uow, key)
        open_steps = steps_rules.route_open_steps(steps)
        if not open_steps or not will_miss(found["appointment_at"], steps, now, calendar):
            return
        at_fault = max(open_steps, key=lambda s: s.due_at or now)
        uow.emit(
            "route.apology_requested",
            key,
            {
                "code": key,
                "agency": at_fault.agency_code,
                "step_id": at_fault.id,
                "appointment_at": _iso(found["appointment_at"]),
                "at": _iso(now),
            },
        )


def apologise(
    uow: UnitOfWork,
    calendar: WorkCalendar,
    officer: Officer,
    code: str,
    body: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """Form 04: the agency at fault gives the reason and a new date — once per dossier."""
    from routing.domain.deadlines import Apology, check_apology

    found = repo.route(uow, code, for_update=True)
    if found is None:
        raise not_found(f"Không tìm thấy hồ sơ {code} trong điều phối liên thông")
    open_steps = steps_rules.route_open_steps(repo.steps(uow, code))
    if not any(s.agency_code == officer.unit for s in open_steps):
        raise ApiError(403, "not_at_fault", "Chỉ cơ quan đang giữ hồ sơ mới lập văn bản xin lỗi")
    existing = found.get("apology")
    previous = (
        Apology(**{**existing, "new_date": date.fromisoformat(existing["new_date"])})
        if existing
        else None
    )
    check_apology(previous, body["new_date"], found["appointment_at"], now, calendar)
    apology = {
        "dossier_code": code,
        "agency_code": officer.unit,
        "reason": body["reason"],
        "new_date": body["new_date"].isoformat(),
        "officer": officer.as_actor(),
    }
    repo.set_apology(uow, code, apology)
    # The new date is the appointment from now on (intake moves its own to that day's close).
    new_appointment = datetime.combine(
        body["new_date"], calendar.office_hours.closing, tzinfo=calendar.tz
    )
    repo.set_appointment(uow, code, new_appointment)
    uow.emit(
        "route.apology_issued",
        code,
        {
            "code": code,
            "at": _iso(now),
            **apology,
            "agency": officer.unit,
            "actor": officer.as_actor(),
        },
    )
    return {"code": code, "apology": apology}
