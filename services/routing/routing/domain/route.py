"""A dossier's route through the agencies, as pure transitions — no I/O here.

The route comes from the procedure version the dossier was received under: stages in sequence,
each stage a group of steps worked in parallel, each step held by one agency (the lead or a
coordinating one) with its share of the working days. A stage is assigned when every earlier
stage is complete; the route is complete when every step is.

Each transition checks the step's status (409 ``invalid_step_status`` otherwise) and returns an
``Effect``: the changed step, the event it causes and the event's data (``actor`` = who acted).

Hand-overs and ``attempt``: a step's ``attempt`` counts the times it was handed to an agency.
It grows when a step is re-opened or sent back by "return to previous step" and when a
supervisor reassigns it, so ``(id, attempt)`` names one hand-over. Such effects carry the
earlier attempt, closed, in ``Effect.archived`` (status RETURNED / REASSIGNED, or COMPLETED for a
re-opened step), for the repository to keep: the control slip (Form 05) shows one row per
hand-over when given the archived attempts along with the current steps.

The step clock: a supplement request stops it (the remaining office time is kept, as intake's
dossier clock does) and ``resume`` restarts it from the time the supplements arrive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any

from motcua_kit.errors import ApiError
from motcua_kit.workcal import VN_TZ, WorkCalendar

from routing.domain.agencies import Registry

PENDING = "pending"
ASSIGNED = "assigned"
ACCEPTED = "accepted"
AWAITING_SUPPLEMENT = "awaiting_supplement"
COMPLETED = "completed"
REFUSED = "refused"
CANCELLED = "cancelled"
# Only on archived attempts (Effect.archived): how that hand-over ended.
RETURNED = "returned"
REASSIGNED = "reassigned"

OPEN = (ASSIGNED, ACCEPTED, AWAITING_SUPPLEMENT)  # an agency holds the file
HELD = (ASSIGNED, ACCEPTED)  # ... and its clock runs
ENDED = (COMPLETED, REFUSED, CANCELLED)

STATUS_VI = {
    PENDING: "Chưa đến lượt xử lý",
    ASSIGNED: "Đã chuyển, chờ tiếp nhận",
    ACCEPTED: "Đang xử lý",
    AWAITING_SUPPLEMENT: "Chờ bổ sung hồ sơ",
    COMPLETED: "Đã hoàn thành",
    REFUSED: "Từ chối giải quyết",
    CANCELLED: "Đã hủy",
    RETURNED: "Trả lại bước trước",
    REASSIGNED: "Chuyển cơ quan khác",
}

LEAD, COORDINATING = "lead", "coordinating"
ROLES = (LEAD, COORDINATING)

EVENT_TYPES = (
    "step.assigned",
    "step.accepted",
    "step.completed",
    "step.supplement_requested",
    "step.resumed",
    "step.refused",
    "step.returned",
    "step.reassigned",
)


@dataclass(frozen=True)
class Step:
    id: str  # f"{dossier_code}/{stage}.{index}", stage and index from 1
    dossier_code: str
    stage: int
    index: int
    agency_code: str
    role: str  # "lead" | "coordinating"
    days: int  # its share of the working days
    task_vi: str
    task_en: str
    status: str = PENDING
    assigned_at: datetime | None = None
    due_at: datetime | None = None
    accepted_at: datetime | None = None
    completed_at: datetime | None = None
    paused_at: datetime | None = None
    remaining_seconds: float | None = None
    handed_by: Mapping[str, str] | None = None  # who gave the file (actor: id/name/unit)
    received_by: Mapping[str, str] | None = None  # who accepted it
    result_reference: str | None = None
    note: str | None = None
    attempt: int = 1  # the hand-over number; see the module docstring


@dataclass(frozen=True)
class Effect:
    step: Step
    event_type: str
    data: dict[str, Any]
    archived: Step | None = None  # the earlier attempt, closed, when this effect starts a new one


def step_id(dossier_code: str, stage: int, index: int) -> str:
    return f"{dossier_code}/{stage}.{index}"


# --- planning ----------------------------------------------------------------------------------


def plan_route(
    dossier_code: str, unit: str, route: Mapping[str, Any], registry: Registry
) -> list[Step]:
    """Every step of ``route`` (the catalogue's ``procedure["route"]``), all PENDING.

    Agencies are chosen by kind for the receiving ``unit`` (``UnknownAgency`` if the registry has
    none); a malformed route raises ``ValueError`` naming the bad entry. No stages: no steps.
    """
    stages = route.get("stages", [])
    if not isinstance(stages, list):
        raise ValueError("route: 'stages' must be a list")
    planned: list[Step] = []
    for stage_number, stage in enumerate(stages, start=1):
        entries = stage.get("steps") if isinstance(stage, Mapping) else None
        if not isinstance(entries, list) or not entries:
            raise ValueError(f"route: stage {stage_number} needs a non-empty 'steps' list")
        for index, entry in enumerate(entries, start=1):
            planned.append(_planned_step(dossier_code, unit, stage_number, index, entry, registry))
    return planned


def _planned_step(
    dossier_code: str, unit: str, stage: int, index: int, entry: object, registry: Registry
) -> Step:
    where = f"route: stage {stage} step {index}"
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where} must be an object")
    kind, role, days, task = (entry.get(k) for k in ("agency_kind", "role", "days", "task"))
    if not isinstance(kind, str):
        raise ValueError(f"{where}: 'agency_kind' must be a string")
    if role not in ROLES:
        raise ValueError(f"{where}: role {role!r} must be one of {list(ROLES)}")
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise ValueError(f"{where}: 'days' must be a whole number >= 0")
    if not (isinstance(task, Mapping) and isinstance(task.get("vi"), str)):
        raise ValueError(f"{where}: 'task' must be an object with 'vi' (and 'en')")
    agency = registry.for_kind(kind, unit)
    return Step(
        id=step_id(dossier_code, stage, index),
        dossier_code=dossier_code,
        stage=stage,
        index=index,
        agency_code=agency.code,
        role=role,
        days=days,
        task_vi=task["vi"],
        task_en=str(task.get("en") or task["vi"]),
    )


# --- assignment --------------------------------------------------------------------------------


def assign_ready(
    steps: Sequence[Step],
    now: datetime,
    calendar: WorkCalendar,
    handed_by: Mapping[str, str],
    *,
    cutoff: time | None = None,
) -> list[Effect]:
    """Assign the PENDING steps of the first stage not yet complete, if every earlier one is.

    A parallel group is assigned all at once. Each step is due ``days`` working days from
    ``now`` (0 days: the close of that working day; ``cutoff`` as in WorkCalendar). Steps of
    that stage already assigned or complete are left alone; nothing at all once a step was
    refused or cancelled. An empty list when nothing is ready.
    """
    if any(s.status in (REFUSED, CANCELLED) for s in steps):
        return []
    for stage in sorted({s.stage for s in steps}):
        group = sorted((s for s in steps if s.stage == stage), key=lambda s: s.index)
        if all(s.status == COMPLETED for s in group):
            continue
        return [
            _assign(s, now, calendar, handed_by, cutoff, {}) for s in group if s.status == PENDING
        ]
    return []


def _assign(
    step: Step,
    now: datetime,
    calendar: WorkCalendar,
    handed_by: Mapping[str, str],
    cutoff: time | None,
    extra: dict[str, Any],
    *,
    event_type: str = "step.assigned",
    attempt: int | None = None,
    archived: Step | None = None,
) -> Effect:
    assigned = replace(
        _cleared(step),
        status=ASSIGNED,
        assigned_at=now,
        due_at=calendar.add_working_days(now, step.days, cutoff=cutoff),
        handed_by=dict(handed_by),
        attempt=step.attempt if attempt is None else attempt,
    )
    data = {"actor": dict(handed_by), "days": step.days, **extra}
    return Effect(assigned, event_type, data, archived)


def _cleared(step: Step) -> Step:
    """The step without any trace of a hand-over (times, actors, result)."""
    return replace(
        step,
        assigned_at=None,
        due_at=None,
        accepted_at=None,
        completed_at=None,
        paused_at=None,
        remaining_seconds=None,
        handed_by=None,
        received_by=None,
        result_reference=None,
        note=None,
    )


# --- actions by the agency holding a step -------------------------------------------------------


def accept(step: Step, now: datetime, officer: Mapping[str, str]) -> Effect:
    """The agency received the file (Form 05: time received, who received)."""
    _require(step, (ASSIGNED,), "tiếp nhận")
    accepted = replace(step, status=ACCEPTED, accepted_at=now, received_by=dict(officer))
    return Effect(accepted, "step.accepted", {"actor": dict(officer)})


def complete(
    step: Step,
    now: datetime,
    officer: Mapping[str, str],
    result_reference: str,
    note: str | None,
) -> Effect:
    """Done, with a reference to the result (only after the file was accepted)."""
    _require(step, (ACCEPTED,), "hoàn thành")
    if not result_reference or not result_reference.strip():
        raise ApiError(422, "result_reference_required", "Cần ghi số/mã của kết quả xử lý")
    from routing.domain.deadlines import timeliness_in  # deadlines imports this module

    done = replace(
        step,
        status=COMPLETED,
        completed_at=now,
        result_reference=result_reference,
        note=note,
    )
    data: dict[str, Any] = {
        "actor": dict(officer),
        "result_reference": result_reference,
        "note": note,
        "timeliness": timeliness_in(step.due_at, now, VN_TZ) if step.due_at else None,
    }
    return Effect(done, "step.completed", data)


def request_supplement(
    step: Step,
    now: datetime,
    calendar: WorkCalendar,
    officer: Mapping[str, str] | None = None,
) -> Effect:
    """Stop the step's clock until the citizen's supplements arrive (through intake).

    The office time left until ``due_at`` is kept (none if already overdue); ``due_at`` stays as
    it was until ``resume``. The caller adds what is missing to the event's data.
    """
    _require(step, HELD, "yêu cầu bổ sung")
    left = 0.0
    if step.due_at is not None:
        left = calendar.working_days_between(now, step.due_at) * _day_seconds(calendar)
    paused = replace(
        step, status=AWAITING_SUPPLEMENT, paused_at=now, remaining_seconds=max(left, 0.0)
    )
    data: dict[str, Any] = {
        "remaining_working_days": round(max(left, 0.0) / _day_seconds(calendar), 2)
    }
    if officer is not None:
        data["actor"] = dict(officer)
    return Effect(paused, "step.supplement_requested", data)


def resume(step: Step, now: datetime, calendar: WorkCalendar) -> Effect:
    """Supplements arrived: the clock restarts with the time that was left."""
    _require(step, (AWAITING_SUPPLEMENT,), "tiếp tục xử lý")
    left = timedelta(seconds=step.remaining_seconds or 0.0)
    due = calendar.add_working_time(now, left)
    resumed = replace(
        step,
        status=ACCEPTED if step.accepted_at is not None else ASSIGNED,
        due_at=due,
        paused_at=None,
        remaining_seconds=None,
    )
    paused_days = calendar.working_days_between(step.paused_at or now, now)
    return Effect(resumed, "step.resumed", {"paused_working_days": round(paused_days, 2)})


def refuse(step: Step, now: datetime, officer: Mapping[str, str], reason: str) -> Effect:
    """The agency refuses, with its reason: this ends the dossier (see ``cancel_all``)."""
    _require(step, OPEN, "từ chối")
    _require_reason(reason)
    refused = replace(
        step,
        status=REFUSED,
        completed_at=now,
        note=reason,
        paused_at=None,
        remaining_seconds=None,
    )
    return Effect(refused, "step.refused", {"actor": dict(officer), "reason": reason})


def reassign(
    step: Step,
    new_agency_code: str,
    now: datetime,
    calendar: WorkCalendar,
    supervisor: Mapping[str, str],
    reason: str | None = None,
) -> Effect:
    """A supervisor moves the step to another agency: a new hand-over (attempt + 1).

    The due instant does not move: the dossier's time does not grow because of an internal
    reassignment. The new holder must accept the file again.
    """
    _require(step, HELD, "chuyển cơ quan khác")
    if new_agency_code == step.agency_code:
        raise ApiError(
            409,
            "same_agency",
            "Bước xử lý đã thuộc cơ quan này",
            extra={"agency_code": new_agency_code},
        )
    moved = replace(
        step,
        agency_code=new_agency_code,
        status=ASSIGNED,
        assigned_at=now,
        handed_by=dict(supervisor),
        accepted_at=None,
        received_by=None,
        attempt=step.attempt + 1,
    )
    archived = replace(step, status=REASSIGNED, completed_at=now, note=reason)
    data = {
        "actor": dict(supervisor),
        "from_agency": step.agency_code,
        "to_agency": new_agency_code,
        "reason": reason,
    }
    return Effect(moved, "step.reassigned", data, archived)


def return_to_previous(
    steps: Sequence[Step],
    step_id: str,
    now: datetime,
    calendar: WorkCalendar,
    officer: Mapping[str, str],
    reason: str,
) -> list[Effect]:
    """The holder of a later-stage step sends the file back to the previous stage.

    The open steps of its stage go back to PENDING (a completed parallel step keeps its result)
    with "step.returned"; the previous stage's steps are re-opened ("step.assigned", handed by
    ``officer``) with a fresh due instant from ``now`` for their share of days. Both start a new
    attempt. 409 for a first-stage step, and while a step of the stage awaits supplements.
    """
    step = find_step(steps, step_id)
    _require(step, HELD, "trả lại bước trước")
    _require_reason(reason)
    earlier = [s.stage for s in steps if s.stage < step.stage]
    if not earlier:
        raise ApiError(
            409,
            "no_previous_step",
            "Đây là bước đầu tiên: không có bước trước để trả lại hồ sơ",
            extra={"status": step.status},
        )
    previous = max(earlier)
    stage = [s for s in steps if s.stage == step.stage]
    if any(s.status == AWAITING_SUPPLEMENT for s in stage):
        raise ApiError(
            409,
            "supplement_pending",
            "Không thể trả lại bước trước khi đang chờ công dân bổ sung hồ sơ",
            extra={"status": AWAITING_SUPPLEMENT},
        )
    info = {"actor": dict(officer), "reason": reason, "returned_from": step.id}
    effects = [
        Effect(
            replace(_cleared(s), status=PENDING, attempt=s.attempt + 1),
            "step.returned",
            {**info, "to_stage": previous},
            replace(s, status=RETURNED, completed_at=now, note=reason),
        )
        for s in sorted(stage, key=lambda s: s.index)
        if s.status in HELD
    ]
    effects += [
        _assign(
            s,
            now,
            calendar,
            officer,
            None,
            {**info, "reopened": True},
            attempt=s.attempt + 1,
            archived=s,
        )
        for s in sorted(steps, key=lambda s: s.index)
        if s.stage == previous and s.status == COMPLETED
    ]
    return effects


# --- the route as a whole ----------------------------------------------------------------------


def find_step(steps: Sequence[Step], step_id: str) -> Step:
    found = next((s for s in steps if s.id == step_id), None)
    if found is None:
        raise ApiError(404, "not_found", f"Không tìm thấy bước xử lý {step_id}")
    return found


def route_complete(steps: Sequence[Step]) -> bool:
    """Every step is complete (a route with no steps is complete)."""
    return all(s.status == COMPLETED for s in steps)


def route_open_steps(steps: Sequence[Step]) -> list[Step]:
    """The steps an agency holds now (assigned, accepted or awaiting supplements)."""
    return sorted((s for s in steps if s.status in OPEN), key=lambda s: (s.stage, s.index))


def cancel_all(steps: Sequence[Step], now: datetime) -> list[Step]:
    """Cancel every step not yet ended (the dossier was refused or withdrawn); only those return.

    A step that had been handed over gets ``completed_at = now`` (when its holder stopped).
    """
    return [
        replace(
            s,
            status=CANCELLED,
            completed_at=now if s.assigned_at is not None else None,
            paused_at=None,
            remaining_seconds=None,
        )
        for s in steps
        if s.status not in ENDED
    ]


# --- helpers -----------------------------------------------------------------------------------


def _require(step: Step, allowed: tuple[str, ...], action: str) -> None:
    if step.status not in allowed:
        raise ApiError(
            409,
            "invalid_step_status",
            f"Không thể {action} khi bước xử lý ở trạng thái '{STATUS_VI.get(step.status, step.status)}'",
            extra={"status": step.status},
        )


def _require_reason(reason: str) -> None:
    if not reason or not reason.strip():
        raise ApiError(422, "reason_required", "Cần nêu rõ lý do")


def _day_seconds(calendar: WorkCalendar) -> float:
    return calendar.office_hours.day_length.total_seconds()
