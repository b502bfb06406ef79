"""What routing does when intake reports: a dossier received, supplements arrived, a dossier ended."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from motcua_kit import audit
from motcua_kit.db import UnitOfWork
from motcua_kit.errors import PermanentError
from motcua_kit.workcal import WorkCalendar

from routing.adapters import repository as repo
from routing.domain import route as steps_rules
from routing.domain.agencies import Registry, UnknownAgency
from routing.domain.route import Effect
from routing.providers import Policy
from routing.workflow.engine import (
    SYSTEM,
    apology_check_at,
    apply_effects,
    complete_route,
    end_route,
    iso,
    record_route,
)

log = logging.getLogger(__name__)

# --- dossier.received: open the route --------------------------------------------------------


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
    except ValueError as exc:  # a route the domain cannot read will not improve on retry
        raise PermanentError(f"route of {procedure.get('code')} is malformed: {exc}") from exc
    if not repo.insert_route(uow, code, unit, procedure, appointment):
        return
    acting_for_intake(uow, event, data.get("received_by"))
    record_route(
        uow,
        code,
        "route_opened",  # not an event: routing publishes the steps assigned
        now,
        procedure={"code": procedure.get("code"), "version": procedure.get("version")},
        steps=[s.id for s in planned],
        appointment_at=iso(appointment),
    )
    repo.save_steps(uow, planned)
    uow.schedule(
        "route.apology_check", code, apology_check_at(appointment, calendar), {"code": code}
    )
    handed_by = data.get("received_by") or SYSTEM
    assigned = steps_rules.assign_ready(planned, now, calendar, handed_by)
    apply_effects(uow, registry, calendar, policy, assigned, now)
    if not planned:  # a procedure decided at the desk itself: nothing to route
        complete_route(uow, code, [], now)


def acting_for_intake(uow: UnitOfWork, event: Mapping[str, Any], actor: Any) -> None:
    """Audit records name the desk's officer the event reports, and the event as the origin."""
    audit.acting(uow, audit.by_event(event, dict(actor or SYSTEM), type=event.get("type")))


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
    acting_for_intake(uow, event, event["data"].get("actor"))
    waiting = [s for s in steps if s.status == steps_rules.AWAITING_SUPPLEMENT]
    resumed = [steps_rules.resume(s, now, calendar) for s in waiting]
    apply_effects(uow, registry, calendar, policy, resumed, now)
    if event["data"].get("due_at"):  # the dossier's clock moved too: so does the apology check
        appointment = datetime.fromisoformat(event["data"]["due_at"])
        repo.set_appointment(uow, code, appointment)
        uow.schedule(
            "route.apology_check", code, apology_check_at(appointment, calendar), {"code": code}
        )


def dossier_ended(
    uow: UnitOfWork, registry: Registry, event: Mapping[str, Any], now: datetime
) -> None:
    """Refused or withdrawn at the desk: the agencies stop working on it."""
    code = event["data"]["code"]
    found = repo.route(uow, code, for_update=True)
    if found is None or found["status"] != "open":
        return
    acting_for_intake(uow, event, event["data"].get("actor"))
    end_route(uow, registry, code, repo.steps(uow, code), "cancelled", now)
    uow.emit("route.cancelled", code, {"code": code, "at": iso(now), "reason": event["type"]})


def supplement_requested_at_desk(
    uow: UnitOfWork,
    registry: Registry,
    calendar: WorkCalendar,
    policy: Policy,
    event: Mapping[str, Any],
    now: datetime,
) -> None:
    """The dossier's clock stopped (asked at the desk, or by an agency): every agency's stops too.

    Steps already paused (the agency that asked) are left as they are; the pauses recorded here
    also mark that the dossier's one supplement request has been used.
    """
    data = event["data"]
    if repo.route(uow, data["code"]) is None:
        return
    steps = repo.lock_route_steps(uow, data["code"])
    acting_for_intake(uow, event, data.get("actor"))
    effects = []
    for s in steps:
        if s.status in steps_rules.HELD:
            paused = steps_rules.request_supplement(s, now, calendar)
            details = {"actor": data.get("actor"), "missing": data.get("missing"), "by": "dossier"}
            effects.append(Effect(paused.step, paused.event_type, {**paused.data, **details}))
    apply_effects(uow, registry, calendar, policy, effects, now)
