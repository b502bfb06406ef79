"""Actions on a step by the agency that holds it (worklist officer or bus reply), and reassignment."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from motcua_kit import access, audit
from motcua_kit.access import Units
from motcua_kit.auth import Officer
from motcua_kit.db import UnitOfWork
from motcua_kit.errors import ApiError, not_found
from motcua_kit.workcal import WorkCalendar

from routing.adapters import repository as repo
from routing.domain import route as steps_rules
from routing.domain.agencies import Registry, UnknownAgency
from routing.domain.route import Effect, Step
from routing.providers import Policy
from routing.workflow.engine import advance, apply_effects, step_data

log = logging.getLogger(__name__)

# --- actions on a step ---------------------------------------------------------------------


def open_route_steps(uow: UnitOfWork, step_id: str) -> tuple[Step, list[Step]]:
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


def require_holder(s: Step, agency_code: str) -> None:
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
    by: audit.By | None = None,
) -> dict[str, Any]:
    """An action by the agency that holds the step (a worklist officer or a bus reply).

    `by`: who acts and from where, for the audit trail (an officer's request); a bus reply names
    its sender itself (`bus_reply`)."""
    if by is not None:
        audit.acting(uow, by)
    s, steps = open_route_steps(uow, step_id)
    require_holder(s, agency_code)
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
    apply_effects(uow, registry, calendar, policy, effects, now)
    advance(uow, registry, calendar, policy, s.dossier_code, now)
    return {"step": step_data(repo.step(uow, step_id) or s)}


def reassign(
    uow: UnitOfWork,
    registry: Registry,
    calendar: WorkCalendar,
    policy: Policy,
    supervisor: Officer,
    units: Units,
    step_id: str,
    agency_code: str,
    now: datetime,
) -> dict[str, Any]:
    s, _steps = open_route_steps(uow, step_id)
    found = repo.route(uow, s.dossier_code)
    if found and not access.oversees(supervisor, found["unit"], units):
        raise ApiError(
            403, "other_unit", "Chỉ lãnh đạo đơn vị tiếp nhận hồ sơ mới được chuyển bước"
        )
    try:
        registry.agency(agency_code)
    except UnknownAgency as exc:
        raise ApiError(422, "unknown_agency", f"Không có cơ quan {agency_code}") from exc
    audit.acting(uow, audit.by_officer(supervisor))
    effect = steps_rules.reassign(s, agency_code, now, calendar, supervisor.as_actor())
    apply_effects(uow, registry, calendar, policy, [effect], now)
    return {"step": step_data(effect.step)}
