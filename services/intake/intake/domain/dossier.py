"""A dossier's life after reception, as pure transitions — no I/O here.

Each transition checks the current status, returns the changed dossier and the event it causes.
The clock: a supplement request stops it (the remaining working time is kept) and receiving the
supplements restarts it, which moves the appointment by the time the citizen took.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from motcua_kit.errors import ApiError
from motcua_kit.workcal import VN_TZ, WorkCalendar

RECEIVED = "received"
IN_PROGRESS = "in_progress"
AWAITING_SUPPLEMENT = "awaiting_supplement"
REFUSED = "refused"
WITHDRAWN = "withdrawn"
RESULT_READY = "result_ready"
RETURNED = "returned"

OPEN = (RECEIVED, IN_PROGRESS, AWAITING_SUPPLEMENT)
EVALUABLE = (RESULT_READY, RETURNED, REFUSED)

STATUS_VI = {
    RECEIVED: "Đã tiếp nhận",
    IN_PROGRESS: "Đang giải quyết",
    AWAITING_SUPPLEMENT: "Chờ bổ sung hồ sơ",
    REFUSED: "Từ chối giải quyết",
    WITHDRAWN: "Công dân rút hồ sơ",
    RESULT_READY: "Đã có kết quả, chờ trả",
    RETURNED: "Đã trả kết quả",
}


@dataclass(frozen=True)
class Dossier:
    code: str
    unit: str
    status: str
    received_at: datetime
    due_at: datetime
    paused_at: datetime | None = None
    remaining_seconds: float | None = None
    resume_status: str | None = None
    supplement_requests: int = 0
    result_at: datetime | None = None
    returned_at: datetime | None = None


@dataclass(frozen=True)
class Change:
    dossier: Dossier
    event_type: str
    data: dict[str, Any]


def _require(dossier: Dossier, allowed: tuple[str, ...], action: str) -> None:
    if dossier.status not in allowed:
        raise ApiError(
            409,
            "invalid_status",
            f"Không thể {action} khi hồ sơ ở trạng thái '{STATUS_VI[dossier.status]}'",
            extra={"status": dossier.status},
        )


def request_supplement(
    dossier: Dossier, calendar: WorkCalendar, now: datetime, missing: list[dict[str, Any]]
) -> Change:
    """Everything missing, in one request, once; the clock stops until supplements arrive."""
    _require(dossier, (RECEIVED, IN_PROGRESS), "yêu cầu bổ sung")
    if dossier.supplement_requests >= 1:
        raise ApiError(
            409,
            "supplement_already_requested",
            "Chỉ được yêu cầu bổ sung hồ sơ một lần, nêu đầy đủ mọi nội dung cần bổ sung",
        )
    remaining = calendar.working_days_between(now, dossier.due_at) * _day(calendar)
    changed = replace(
        dossier,
        status=AWAITING_SUPPLEMENT,
        paused_at=now,
        remaining_seconds=max(remaining, 0.0),
        resume_status=dossier.status,
        supplement_requests=dossier.supplement_requests + 1,
    )
    return Change(changed, "dossier.supplement_requested", {"missing": missing})


def supplement(dossier: Dossier, calendar: WorkCalendar, now: datetime) -> Change:
    _require(dossier, (AWAITING_SUPPLEMENT,), "nhận bổ sung")
    remaining = timedelta(seconds=dossier.remaining_seconds or 0.0)
    new_due = calendar.add_working_time(now, remaining)
    changed = replace(
        dossier,
        status=dossier.resume_status or RECEIVED,
        due_at=new_due,
        paused_at=None,
        remaining_seconds=None,
        resume_status=None,
    )
    paused_days = calendar.working_days_between(dossier.paused_at or now, now)
    return Change(
        changed,
        "dossier.supplemented",
        {"due_at": new_due.isoformat(), "paused_working_days": round(paused_days, 2)},
    )


def refuse(dossier: Dossier, reason: str) -> Change:
    _require(dossier, OPEN, "từ chối")
    return Change(replace(dossier, status=REFUSED), "dossier.refused", {"reason": reason})


def withdraw(dossier: Dossier, reason: str) -> Change:
    _require(dossier, OPEN, "rút hồ sơ")
    return Change(replace(dossier, status=WITHDRAWN), "dossier.withdrawn", {"reason": reason})


def start_processing(dossier: Dossier) -> Dossier:
    """Routing took the dossier: the public status says it is being handled."""
    return replace(dossier, status=IN_PROGRESS) if dossier.status == RECEIVED else dossier


# --- who may act: the receiving unit, or the agency holding an open step -------------------------

STEP_OPEN = "assigned"  # routing's step is with an agency (assigned, accepted, or paused)
STEP_DONE = "completed"
STEP_PENDING = "pending"  # sent back (step.returned): nobody holds it until it is assigned again
_STEP_RANK = {STEP_PENDING: 0, STEP_OPEN: 1, STEP_DONE: 2}


@dataclass(frozen=True)
class Party:
    """Who asks for a change: whether they are of the receiving unit, and which agencies they
    speak for (an officer's unit and agency claim)."""

    receiving_unit: bool
    agencies: frozenset[str]


def track_step(steps: dict[str, Any], status: str, data: dict[str, Any]) -> dict[str, Any]:
    """Routing reported a step's move: the steps as intake knows them now.

    Events may arrive out of order (competing consumers, retries): a report about an earlier
    attempt, or an earlier move of the same attempt (assigned after completed), changes nothing.
    """
    step_id = str(data["step_id"])
    attempt = int(data.get("attempt") or 0)
    before = steps.get(step_id)
    if before is not None and (attempt, _STEP_RANK[status]) < (
        int(before.get("attempt") or 0),
        _STEP_RANK.get(str(before.get("status")), 0),
    ):
        return steps
    task = data.get("task") or (before or {}).get("task")
    entry = {
        "step_id": step_id,
        "agency": data.get("agency") or (before or {}).get("agency"),
        "task": task,
        "due_at": data.get("due_at"),
        "attempt": attempt,
        "status": status,
    }
    return {**steps, step_id: entry}


def open_steps(steps: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps an agency holds now, in route order (stage, then index)."""

    def order(step_id: str) -> tuple[int, ...]:
        tail = step_id.rsplit("/", 1)[-1]
        return tuple(int(p) for p in tail.split(".") if p.isdigit())

    held = [s for s in steps.values() if s.get("status") == STEP_OPEN]
    return sorted(held, key=lambda s: order(str(s["step_id"])))


def require_party(
    party: Party, steps: dict[str, Any], action: str, *, desk_only: bool = False
) -> None:
    """The receiving unit's officers may act; an agency only while it holds an open step of the
    route (not one it held before, nor one of a later stage), and never on a desk-only action
    (supplements received, withdrawal, return: the citizen deals with the desk)."""
    if party.receiving_unit:
        return
    if desk_only:
        raise ApiError(
            403,
            "not_receiving_unit",
            f"Chỉ bộ phận tiếp nhận của đơn vị nhận hồ sơ mới được {action}",
        )
    holders = {str(s.get("agency")) for s in open_steps(steps)}
    if not party.agencies & holders:
        raise ApiError(
            403,
            "not_step_holder",
            f"Cơ quan của cán bộ không giữ bước xử lý nào đang mở của hồ sơ nên không được {action}",
        )


def _step_label(step: dict[str, Any]) -> str:
    number = str(step["step_id"]).rsplit("/", 1)[-1]
    task = step.get("task") or {}
    name = task.get("vi") if isinstance(task, dict) else None
    return f"bước {number} ({step.get('agency')}{': ' + name if name else ''})"


def result_ready(
    dossier: Dossier,
    now: datetime,
    result: dict[str, Any],
    *,
    routed: bool,
    steps: dict[str, Any],
    party: Party,
) -> Change:
    """An officer says the result is ready. A procedure with a route: never by hand — routing's
    `route.completed` does it (`route_completed`), so while the route is open the answer names
    its open steps. A procedure without one: the receiving unit itself, nobody else."""
    _require(dossier, (RECEIVED, IN_PROGRESS), "ghi nhận có kết quả")
    if routed:
        still_open = open_steps(steps)
        named = ", ".join(_step_label(s) for s in still_open) or "chưa có bước nào được giao"
        raise ApiError(
            409,
            "route_not_completed",
            "Chưa thể ghi nhận có kết quả: hồ sơ liên thông chỉ có kết quả khi mọi bước xử lý "
            f"đã hoàn thành; các bước còn mở: {named}",
            extra={
                "open_steps": [
                    {"step_id": s["step_id"], "agency": s.get("agency"), "task": s.get("task")}
                    for s in still_open
                ]
            },
        )
    if not party.receiving_unit:
        raise ApiError(
            403,
            "not_receiving_unit",
            "Chỉ cán bộ của đơn vị tiếp nhận hồ sơ mới được ghi nhận có kết quả",
        )
    return _result(dossier, now, result)


def route_completed(dossier: Dossier, now: datetime, result: dict[str, Any]) -> Change:
    """Routing completed every step of the route: the result is ready."""
    _require(dossier, (RECEIVED, IN_PROGRESS), "ghi nhận có kết quả")
    return _result(dossier, now, result)


def _result(dossier: Dossier, now: datetime, result: dict[str, Any]) -> Change:
    changed = replace(dossier, status=RESULT_READY, result_at=now)
    return Change(
        changed,
        "dossier.result_ready",
        {**result, "timeliness": timeliness(dossier.due_at, now)},
    )


def return_result(dossier: Dossier, now: datetime, method: str) -> Change:
    _require(dossier, (RESULT_READY,), "trả kết quả")
    changed = replace(dossier, status=RETURNED, returned_at=now)
    data = {"method": method, "timeliness": timeliness(dossier.due_at, dossier.result_at or now)}
    return Change(changed, "dossier.returned", data)


def timeliness(due_at: datetime, finished_at: datetime) -> str:
    """early (before the appointment day), on_time (by the appointment), late (after it).

    Days are Vietnamese local days whatever the inputs' tz (timestamps read back from the
    database are UTC, where a local morning before 07:00 falls on the previous date).
    """
    if finished_at > due_at:
        return "late"
    if finished_at.astimezone(VN_TZ).date() < due_at.astimezone(VN_TZ).date():
        return "early"
    return "on_time"


def _day(calendar: WorkCalendar) -> float:
    return calendar.office_hours.day_length.total_seconds()


def reschedule(dossier: Dossier, new_due: datetime) -> Change:
    """The agency at fault set a new, later appointment (Form 04; routing allows it once)."""
    _require(dossier, (RECEIVED, IN_PROGRESS, AWAITING_SUPPLEMENT), "hẹn lại ngày trả kết quả")
    if new_due <= dossier.due_at:
        raise ApiError(422, "new_date_not_later", "Ngày hẹn mới phải sau ngày hẹn cũ")
    changed = replace(dossier, due_at=new_due)
    return Change(
        changed,
        "dossier.rescheduled",
        {"previous_due_at": dossier.due_at.astimezone(VN_TZ).isoformat()},
    )
