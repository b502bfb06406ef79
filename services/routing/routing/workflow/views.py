"""What people read: the control slip (Form 05) and an agency's task list."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from typing import Any

from motcua_kit import access, audit
from motcua_kit.access import Units
from motcua_kit.auth import Officer
from motcua_kit.db import UnitOfWork
from motcua_kit.errors import ApiError, not_found
from motcua_kit.workcal import WorkCalendar

from routing.adapters import repository as repo
from routing.domain.agencies import Registry
from routing.domain.route import HELD
from routing.domain.slip import control_slip
from routing.workflow.engine import iso, step_data
from routing.workflow.risk import rounded, step_risk, workloads

log = logging.getLogger(__name__)

# --- reading -----------------------------------------------------------------------------------


def route_view(
    uow: UnitOfWork,
    registry: Registry,
    calendar: WorkCalendar,
    officer: Officer,
    units: Units,
    code: str,
    now: datetime,
) -> dict[str, Any]:
    found, steps = _visible_route(uow, officer, units, code)
    rows = control_slip(steps, registry, calendar, now)
    held = [s for s in steps if s.status in HELD]
    loads = workloads(uow, calendar, [s.agency_code for s in held])
    risks = {(s.id, s.attempt): step_risk(s, loads[s.agency_code], now, calendar) for s in held}
    known = [r for r in risks.values() if r is not None]
    return {
        "code": code,
        "status": found["status"],
        "appointment_at": iso(found["appointment_at"]),
        "lateness_risk": rounded(max(known)) if known else None,
        "form": "05",
        "form_title": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
        "rows": [
            {**_row(r), "lateness_risk": rounded(risks.get((r.step_id, r.attempt)))} for r in rows
        ],
    }


def _visible_route(
    uow: UnitOfWork, officer: Officer, units: Units, code: str
) -> tuple[dict[str, Any], list[Any]]:
    """The route and its steps (archived hand-overs too), for the units involved in it and
    whoever oversees its receiving unit; 404 or 403 before anything of it is read out."""
    found = repo.route(uow, code)
    if found is None:
        raise not_found(f"Không tìm thấy hồ sơ {code} trong điều phối liên thông")
    steps = repo.steps(uow, code) + repo.archived(uow, code)
    involved = {found["unit"], *(s.agency_code for s in steps)}
    seen = officer.unit in involved or officer.agency in involved
    if not seen and not access.oversees(officer, found["unit"], units):
        raise ApiError(403, "not_involved", "Đơn vị của cán bộ không tham gia giải quyết hồ sơ này")
    return found, steps


def audit_view(uow: UnitOfWork, officer: Officer, units: Units, code: str) -> dict[str, Any]:
    """The dossier's audit chain in routing, verified now; reading it is recorded after."""
    _visible_route(uow, officer, units, code)
    shown = audit.trail(uow, code)
    audit.record_by(uow, code, "read.audit", audit.by_officer(officer), None)
    return {"code": code, **shown}


def _row(row: Any) -> dict[str, Any]:
    return {k: (iso(v) if isinstance(v, datetime) else v) for k, v in asdict(row).items()}


def tasks_view(
    uow: UnitOfWork,
    calendar: WorkCalendar,
    officer: Officer,
    units: Units,
    agency_code: str,
    now: datetime,
) -> dict[str, Any]:
    """An agency's open steps, soonest due first, each with its lateness risk (null while its
    clock is stopped for supplements). Only the agency's own officers, or whoever oversees it,
    read them."""
    if not access.sees_agency(officer, agency_code, units):
        raise ApiError(403, "other_agency", "Chỉ xem được việc của cơ quan mình")
    tasks = repo.agency_tasks(uow, agency_code)
    load = workloads(uow, calendar, [agency_code])[agency_code]
    return {
        "agency": agency_code,
        "tasks": [
            {**step_data(s), "lateness_risk": rounded(step_risk(s, load, now, calendar))}
            for s in tasks
        ],
    }
