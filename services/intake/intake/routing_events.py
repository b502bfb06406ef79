"""What intake does when routing reports progress: keep the public status and appointment true."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from motcua_kit import audit
from motcua_kit.auth import Officer
from motcua_kit.db import UnitOfWork
from motcua_kit.errors import ApiError, PermanentError
from motcua_kit.workcal import WorkCalendar

from intake import desk
from intake.adapters import repository as repo
from intake.domain import dossier as life


def _agency(data: Mapping[str, Any]) -> Officer:
    actor = data.get("actor") or {}
    return Officer(
        id=str(actor.get("id") or "routing"),
        name=str(actor.get("name") or data.get("agency") or "Cơ quan phối hợp"),
        unit=str(actor.get("unit") or data.get("agency") or ""),
        roles=("system",),
    )


def _acting(uow: UnitOfWork, event: Mapping[str, Any]) -> audit.By:
    """The audit trail names the agency (and its officer) the event reports, and the event as
    where the action came from; the consumer's inbox makes a redelivery record nothing."""
    data = event["data"]
    actor = {**_agency(data).as_actor(), "agency": str(data.get("agency") or "")}
    by = audit.by_event(event, actor, type=event.get("type"))
    audit.acting(uow, by)
    return by


def _as_permanent(exc: ApiError) -> PermanentError:
    """An action the dossier's state forbids will not succeed on retry: dead-letter it."""
    return PermanentError(f"{exc.code}: {exc.message}")


def step_assigned(uow: UnitOfWork, event: Mapping[str, Any], now: datetime) -> None:
    data = event["data"]
    dossier = repo.load_dossier(uow, data["code"], for_update=True)
    if dossier is None or dossier.status not in life.OPEN:
        return
    by = _acting(uow, event)
    repo.save_dossier(uow, life.start_processing(dossier))
    current = {
        "agency": data["agency"],
        "step_id": data["step_id"],
        "task": data.get("task"),
        "due_at": data.get("due_at"),
    }
    repo.set_current_step(uow, dossier.code, current)
    steps = life.track_step(repo.route_steps(uow, dossier.code), life.STEP_OPEN, dict(data))
    repo.set_route_steps(uow, dossier.code, steps)
    repo.record_action(uow, dossier.code, "transferred", _agency(data).as_actor(), now, current)
    audit.record_by(uow, dossier.code, event["type"], by, now, current)  # what routing reported


def step_moved(uow: UnitOfWork, event: Mapping[str, Any], status: str) -> None:
    """Keep the steps routing reports (which agency holds what now): the desk's rules read them."""
    data = event["data"]
    if repo.load_dossier(uow, data["code"], for_update=True) is None:
        return
    steps = repo.route_steps(uow, data["code"])
    repo.set_route_steps(uow, data["code"], life.track_step(steps, status, dict(data)))


def agency_asks_supplement(
    uow: UnitOfWork, calendar: WorkCalendar, event: Mapping[str, Any], now: datetime
) -> None:
    data = event["data"]
    dossier = repo.load_dossier(uow, data["code"])
    if dossier is not None and dossier.status == life.AWAITING_SUPPLEMENT:
        return  # the citizen has already been asked (once, as the law allows) — nothing to add
    body = {"missing": data.get("missing") or [], "reason": data.get("reason") or ""}
    _acting(uow, event)
    try:
        desk.request_supplement(
            uow, calendar, _agency(data), data["code"], body, now, by_route=True
        )
    except ApiError as exc:
        raise _as_permanent(exc) from exc


def route_refused(uow: UnitOfWork, event: Mapping[str, Any], now: datetime) -> None:
    data = event["data"]
    _acting(uow, event)
    try:
        body = {"reason": data.get("reason") or ""}
        desk.refuse(uow, _agency(data), data["code"], body, now, by_route=True)
    except ApiError as exc:
        raise _as_permanent(exc) from exc


def route_completed(uow: UnitOfWork, event: Mapping[str, Any], now: datetime) -> None:
    data = event["data"]
    references = [
        r["result_reference"] for r in data.get("results", []) if r.get("result_reference")
    ]
    body = {
        "result_reference": "; ".join(references) or data["code"],
        "electronic": False,
        "note": None,
    }
    _acting(uow, event)
    try:
        desk.route_completed(uow, _agency(data), data["code"], body, now)
    except ApiError as exc:
        raise _as_permanent(exc) from exc


def apology_issued(
    uow: UnitOfWork, calendar: WorkCalendar, event: Mapping[str, Any], now: datetime
) -> None:
    data = event["data"]
    dossier = repo.load_dossier(uow, data["code"], for_update=True)
    if dossier is None:
        raise PermanentError(f"unknown dossier {data['code']}")
    new_due = datetime.combine(
        datetime.fromisoformat(data["new_date"]).date(), calendar.office_hours.closing, calendar.tz
    )
    _acting(uow, event)
    try:
        change = life.reschedule(dossier, new_due)
        desk.apply_change(uow, _agency(data), change, now, {"reason": data.get("reason")})
    except ApiError as exc:
        raise _as_permanent(exc) from exc
