"""Due timers (reminders, overdue, risk checks, the apology check) and the apology itself (Form 04)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from motcua_kit import audit
from motcua_kit.auth import Officer
from motcua_kit.db import UnitOfWork
from motcua_kit.errors import ApiError, not_found
from motcua_kit.workcal import WorkCalendar

from routing import metrics
from routing.adapters import repository as repo
from routing.domain import route as steps_rules
from routing.domain.agencies import Registry
from routing.domain.deadlines import Apology, check_apology, will_miss
from routing.providers import Policy
from routing.workflow.engine import iso, step_data
from routing.workflow.risk import check_risk

log = logging.getLogger(__name__)

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
    kind, key = timer["kind"], timer["key"]
    if kind == "step.risk_check":
        check_risk(uow, calendar, policy, key, now)
    elif kind in ("step.reminder", "step.overdue"):
        s = repo.step(uow, key)
        if s is None or s.status not in (steps_rules.ASSIGNED, steps_rules.ACCEPTED):
            return
        data = {**step_data(s), "at": iso(now)}
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
                "appointment_at": iso(found["appointment_at"]),
                "at": iso(now),
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
    found = repo.route(uow, code, for_update=True)
    if found is None:
        raise not_found(f"Không tìm thấy hồ sơ {code} trong điều phối liên thông")
    open_steps = steps_rules.route_open_steps(repo.steps(uow, code))
    if not any(s.agency_code == officer.agency for s in open_steps):
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
        "agency_code": officer.agency,
        "reason": body["reason"],
        "new_date": body["new_date"].isoformat(),
        "officer": officer.as_actor(),
    }
    repo.set_apology(uow, code, apology)
    audit.record_by(uow, code, "route.apology_issued", audit.by_officer(officer), now, apology)
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
            "at": iso(now),
            **apology,
            "agency": officer.agency,
            "actor": officer.as_actor(),
        },
    )
    return {"code": code, "apology": apology}
