"""The desk's use cases: each takes the worker's unit of work and plain values, returns plain data.

Entrypoints (service.py) parse and reply; domain/ decides; adapters/repository.py stores. This
module strings them together in one transaction, including the outgoing event (outbox).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import asdict
from datetime import datetime
from typing import Any

from motcua_kit import access, audit
from motcua_kit.access import Units
from motcua_kit.auth import Officer
from motcua_kit.db import UnitOfWork
from motcua_kit.errors import ApiError, Problem, not_found
from motcua_kit.workcal import VN_TZ, WorkCalendar

from intake import metrics
from intake.adapters import repository as repo
from intake.domain import dossier as life
from intake.domain.catalogue import Procedure, in_force
from intake.domain.dossier import Change, Dossier
from intake.domain.lookup import LINK, NOT_FOUND, Credential, Pins, locked_answer, retry_at
from intake.domain.reception import (
    HandedDocument,
    appointment,
    format_dossier_code,
    missing_documents,
    request_problems,
)

log = logging.getLogger(__name__)


def may_handle(
    uow: UnitOfWork, officer: Officer, code: str, unit: str, units: Units | None = None
) -> bool:
    """The receiving unit's officers or an agency the dossier was handed to (the same rule as
    routing's control slip: the units involved); for reads (`units` given), also whoever
    oversees the receiving unit. A system's token acts for its own unit only."""
    if officer.unit == unit or (units is not None and access.oversees(officer, unit, units)):
        return True
    involved = repo.agencies_involved(uow, code)
    return officer.unit in involved or officer.agency in involved


def current_procedure(uow: UnitOfWork, code: str, now: datetime) -> Procedure:
    found = in_force(repo.procedure_versions(uow, code), now.astimezone(VN_TZ).date())
    if found is None:
        raise ApiError(
            422,
            "validation_failed",
            "Dữ liệu không hợp lệ",
            problems=[
                Problem(
                    "procedure_code",
                    "unknown_procedure",
                    f"Không có thủ tục '{code}' đang có hiệu lực",
                )
            ],
        )
    return found


# --- reception --------------------------------------------------------------------------------


def submit(
    uow: UnitOfWork,
    calendar: WorkCalendar,
    officer: Officer,
    payload: dict[str, Any],
    idempotency_key: str | None,
    base_url: str,
    now: datetime,
    pins: Pins,
) -> tuple[int, dict[str, Any]]:
    if idempotency_key:
        request_hash = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        earlier = repo.claim_idempotency_key(uow, officer.unit, idempotency_key, request_hash)
        if earlier is not None:
            return replay(uow, earlier, request_hash, base_url, pins)
    procedure = current_procedure(uow, payload["procedure_code"], now)
    handed = [HandedDocument(d["code"], d["copies"]) for d in payload["documents"]]
    problems = request_problems(procedure, handed, payload["return_method"])
    missing = missing_documents(procedure, handed)
    if problems:  # every problem at once, missing documents included
        problems += incomplete(procedure, missing).problems
        raise ApiError(422, "validation_failed", "Dữ liệu không hợp lệ", problems=problems)
    if missing:
        metrics.INCOMPLETE_AT_DESK.labels(procedure.code).inc()
        raise incomplete(procedure, missing)

    received_at = now.astimezone(calendar.tz)
    code = format_dossier_code(
        officer.unit, received_at, repo.next_number(uow, officer.unit, received_at.date())
    )
    pin = f"{secrets.randbelow(1_000_000):06d}"
    dossier = Dossier(
        code=code,
        unit=officer.unit,
        status=life.RECEIVED,
        received_at=received_at,
        due_at=appointment(calendar, procedure, received_at),
    )
    repo.insert_dossier(
        uow,
        dossier,
        {
            "procedure_code": procedure.code,
            "procedure_version": procedure.version,
            "channel": payload["channel"],
            "return_method": payload["return_method"],
            "applicant": payload["applicant"],
            "documents": [asdict(d) for d in handed],
            "pin_hash": pins.hash(code, pin),
            "received_by": officer.as_actor(),
        },
    )
    repo.record_action(
        uow, code, "received", officer.as_actor(), received_at, {"note": payload.get("note")}
    )
    audit.record_by(
        uow,
        code,
        "dossier.received",
        audit.by_officer(officer),
        received_at,
        {
            "procedure": {"code": procedure.code, "version": procedure.version},
            "channel": payload["channel"],
            "return_method": payload["return_method"],
            "documents": [asdict(d) for d in handed],
            "due_at": dossier.due_at.isoformat(),
        },
    )
    # The link secret travels to notification for the citizen's messages (x-sensitive, like the PIN).
    lookup = {"url": f"{base_url}/lookup/{code}", "link": pins.link(base_url, code), "pin": pin}
    event = uow.emit(
        "dossier.received",
        code,
        {
            "code": code,
            "unit": officer.unit,
            "procedure": {
                "code": procedure.code,
                "version": procedure.version,
                "name": {"vi": procedure.name_vi, "en": procedure.name_en},
                "field": procedure.field_code,
                "field_name": procedure.field_name,
                "processing_days": procedure.processing_days,
                "route": procedure.route,
            },
            "channel": payload["channel"],
            "return_method": payload["return_method"],
            "received_at": received_at.isoformat(),
            "due_at": dossier.due_at.isoformat(),
            "applicant": payload["applicant"],
            "documents": [asdict(d) for d in handed],
            "received_by": officer.as_actor(),
            "lookup": lookup,
        },
    )
    if idempotency_key:
        repo.settle_idempotency_key(uow, officer.unit, idempotency_key, code)
    metrics.RECEIVED.labels(procedure.code, payload["channel"]).inc()
    log.info("dossier received", extra={"dossier_code": code, "event_id": event["id"]})
    return 201, reception_body(code, dossier, base_url, pins, pin)


def reception_body(
    code: str, dossier: Dossier, base_url: str, pins: Pins, pin: str | None
) -> dict[str, Any]:
    """The reception answer. Its links carry the link secret, never the PIN: URLs end up in
    access logs and browser histories."""
    received_at, due_at = dossier.received_at.astimezone(VN_TZ), dossier.due_at.astimezone(VN_TZ)
    secret = pins.link_secret(code)
    receipt = (
        f"{base_url}/lookup/{code}/receipt?t={secret}"
        if pin
        else f"{base_url}/dossiers/{code}/receipt"
    )
    return {
        "code": code,
        "status": dossier.status,
        "received_at": received_at.isoformat(),
        "appointment_at": due_at.isoformat(),
        "appointment_date": due_at.date().isoformat(),
        "lookup": {
            "url": f"{base_url}/lookup/{code}",
            "link": pins.link(base_url, code),
            "pin": pin,
        },
        "receipt": {"html": receipt, "pdf": receipt + ("&" if pin else "?") + "format=pdf"},
    }


def replay(
    uow: UnitOfWork, earlier: dict[str, Any], request_hash: str, base_url: str, pins: Pins
) -> tuple[int, dict[str, Any]]:
    if earlier["request_hash"] != request_hash:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "Khóa Idempotency-Key đã được dùng cho một hồ sơ khác nội dung",
        )
    dossier = repo.load_dossier(uow, earlier["dossier_code"]) if earlier["dossier_code"] else None
    if dossier is None:  # the first attempt failed and rolled back its dossier: nothing to replay
        raise ApiError(409, "idempotency_key_in_use", "Yêu cầu trước với khóa này chưa hoàn tất")
    # The PIN is only shown once; a replay points to the officer's receipt instead.
    return 201, {**reception_body(dossier.code, dossier, base_url, pins, None), "replayed": True}


def incomplete(procedure: Procedure, missing: list[Any]) -> ApiError:
    """Form 02: the request to supplement, listing everything missing at once."""
    return ApiError(
        422,
        "dossier_incomplete",
        "Hồ sơ chưa đầy đủ: đề nghị bổ sung, hoàn thiện các thành phần sau",
        problems=[
            Problem(
                f"documents.{m.code}",
                "missing_document",
                f"Thiếu {m.name_vi} (cần {m.copies_required} bản, đã nộp {m.copies_given})",
                message_en=f"Missing {m.name_en} ({m.copies_required} required, {m.copies_given} given)",
            )
            for m in missing
        ],
        extra={
            "form": "02",
            "form_title": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
            "procedure": {"code": procedure.code, "name": procedure.name_vi},
            "missing": [asdict(m) for m in missing],
        },
    )


# --- life after reception ---------------------------------------------------------------------


def _dossier_for(uow: UnitOfWork, officer: Officer, code: str) -> Dossier:
    dossier = repo.load_dossier(uow, code, for_update=True)
    if dossier is None:
        raise not_found(f"Không tìm thấy hồ sơ {code}")
    if not may_handle(uow, officer, code, dossier.unit):
        raise ApiError(403, "other_unit", "Hồ sơ thuộc đơn vị khác")
    return dossier


def _party(officer: Officer, dossier: Dossier) -> life.Party:
    """The officer (or a system, for its own unit) as the rules see them."""
    return life.Party(
        receiving_unit=officer.unit == dossier.unit,
        agencies=frozenset(a for a in (officer.unit, officer.agency) if a),
    )


def _acted_on(
    uow: UnitOfWork,
    officer: Officer,
    code: str,
    action: str,
    *,
    desk_only: bool = False,
    by_route: bool = False,
) -> Dossier:
    """The dossier, locked, once the officer may take `action` on it now (life.require_party);
    `by_route`: routing reports the action and has checked the agency holds the step."""
    dossier = _dossier_for(uow, officer, code)
    if not by_route:
        steps = repo.route_steps(uow, code)
        life.require_party(_party(officer, dossier), steps, action, desk_only=desk_only)
    return dossier


def apply_change(
    uow: UnitOfWork, officer: Officer, change: Change, now: datetime, details: dict[str, Any]
) -> dict[str, Any]:
    dossier = change.dossier
    repo.save_dossier(uow, dossier)
    if dossier.status not in life.OPEN:  # no agency holds it any more
        repo.set_current_step(uow, dossier.code, None)
    action = change.event_type.removeprefix("dossier.")
    repo.record_action(
        uow, dossier.code, action, officer.as_actor(), now, {**details, **change.data}
    )
    # An officer's request, or (routing_events) the event that reported an agency's action.
    by = audit.attributed(uow, audit.by_officer(officer))
    audit.record_by(
        uow,
        dossier.code,
        change.event_type,
        by,
        now,
        {**details, **change.data, "status": dossier.status},
    )
    event = uow.emit(
        change.event_type,
        dossier.code,
        {
            **details,
            **change.data,
            # The common fields come last so that no request field can overwrite them.
            "code": dossier.code,
            "unit": dossier.unit,
            "status": dossier.status,
            "at": now.astimezone(VN_TZ).isoformat(),
            "due_at": dossier.due_at.astimezone(VN_TZ).isoformat(),
            "actor": officer.as_actor(),
        },
    )
    metrics.TRANSITIONS.labels(action).inc()
    log.info("dossier %s", action, extra={"dossier_code": dossier.code, "event_id": event["id"]})
    return {
        "code": dossier.code,
        "status": dossier.status,
        "appointment_at": dossier.due_at.astimezone(VN_TZ).isoformat(),
    }


def request_supplement(
    uow: UnitOfWork,
    calendar: WorkCalendar,
    officer: Officer,
    code: str,
    body: dict[str, Any],
    now: datetime,
    *,
    by_route: bool = False,
) -> dict[str, Any]:
    dossier = _acted_on(uow, officer, code, "yêu cầu bổ sung hồ sơ", by_route=by_route)
    change = life.request_supplement(dossier, calendar, now, body["missing"])
    return apply_change(uow, officer, change, now, {"reason": body["reason"]})


def receive_supplements(
    uow: UnitOfWork,
    calendar: WorkCalendar,
    officer: Officer,
    code: str,
    body: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    dossier = _acted_on(uow, officer, code, "nhận hồ sơ bổ sung", desk_only=True)
    change = life.supplement(dossier, calendar, now)
    return apply_change(
        uow, officer, change, now, {"documents": body["documents"], "note": body.get("note")}
    )


def refuse(
    uow: UnitOfWork,
    officer: Officer,
    code: str,
    body: dict[str, Any],
    now: datetime,
    *,
    by_route: bool = False,
) -> dict[str, Any]:
    dossier = _acted_on(uow, officer, code, "từ chối giải quyết hồ sơ", by_route=by_route)
    return apply_change(uow, officer, life.refuse(dossier, body["reason"]), now, {})


def withdraw(
    uow: UnitOfWork, officer: Officer, code: str, body: dict[str, Any], now: datetime
) -> dict[str, Any]:
    dossier = _acted_on(uow, officer, code, "nhận đơn rút hồ sơ", desk_only=True)
    return apply_change(uow, officer, life.withdraw(dossier, body["reason"]), now, {})


def result_ready(
    uow: UnitOfWork, officer: Officer, code: str, body: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """An officer marks the result ready (the rule is the domain's: life.result_ready)."""
    dossier = _dossier_for(uow, officer, code)
    change = life.result_ready(
        dossier,
        now,
        body,
        routed=repo.has_route(uow, code),
        steps=repo.route_steps(uow, code),
        party=_party(officer, dossier),
    )
    return apply_change(uow, officer, change, now, {})


def route_completed(
    uow: UnitOfWork, agency: Officer, code: str, body: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    """Routing completed the route: the result is ready. A procedure without a route is
    completed by routing at once (nothing to hand over); its result is the desk's to mark."""
    dossier = repo.load_dossier(uow, code, for_update=True)
    if dossier is None:
        raise not_found(f"Không tìm thấy hồ sơ {code}")
    if not repo.has_route(uow, code):
        return None
    return apply_change(uow, agency, life.route_completed(dossier, now, body), now, {})


def return_result(
    uow: UnitOfWork, officer: Officer, code: str, body: dict[str, Any], now: datetime
) -> dict[str, Any]:
    dossier = _acted_on(uow, officer, code, "trả kết quả", desk_only=True)
    change = life.return_result(dossier, now, body["method"])
    return apply_change(uow, officer, change, now, {"note": body.get("note")})


# --- reading ---------------------------------------------------------------------------------


def dossier_view(uow: UnitOfWork, officer: Officer, code: str, units: Units) -> dict[str, Any]:
    """The dossier with the applicant's personal data: a disclosure, recorded."""
    record = _readable(uow, officer, code, units)
    audit.record_by(uow, code, "read.dossier", audit.by_officer(officer), None)
    return record


def receipt_view(uow: UnitOfWork, officer: Officer, code: str, units: Units) -> None:
    """The officer's copy of the receipt (Form 01, with the applicant): allowed and recorded."""
    _readable(uow, officer, code, units)
    audit.record_by(uow, code, "read.receipt", audit.by_officer(officer), None)


def _readable(uow: UnitOfWork, officer: Officer, code: str, units: Units) -> dict[str, Any]:
    record = repo.dossier_record(uow, code)
    if record is None:
        raise not_found(f"Không tìm thấy hồ sơ {code}")
    if not may_handle(uow, officer, code, record["unit"], units):
        raise ApiError(403, "other_unit", "Hồ sơ thuộc đơn vị khác")
    procedure = record.pop("procedure")
    record.pop("pin_hash")
    record["procedure"] = {
        "code": procedure["code"],
        "version": procedure["version"],
        "name": procedure["name"],
    }
    record["status_text"] = life.STATUS_VI[record["status"]]
    return record


def list_for_unit(
    uow: UnitOfWork,
    officer: Officer,
    units: Units,
    unit: str | None,
    status: str | None,
    limit: int,
) -> dict[str, Any]:
    """A unit's dossiers, newest first: the officer's own, or one they oversee (`unit`)."""
    unit = unit or officer.unit
    if not access.sees_unit(officer, unit, units):
        raise access.out_of_scope("Không có quyền xem hồ sơ của đơn vị này")
    dossiers = repo.list_dossiers(uow, unit, status, limit)
    audit.record_by(
        uow,
        f"unit:{unit}",
        "read.list",
        audit.by_officer(officer),
        None,
        {"status": status, "codes": [d["code"] for d in dossiers]},
    )
    return {"unit": unit, "dossiers": dossiers}


def history(uow: UnitOfWork, officer: Officer, code: str, units: Units) -> dict[str, Any]:
    _readable(uow, officer, code, units)  # existence and unit check
    audit.record_by(uow, code, "read.history", audit.by_officer(officer), None)
    return {"code": code, "actions": repo.actions(uow, code)}


def audit_trail(uow: UnitOfWork, officer: Officer, code: str, units: Units) -> dict[str, Any]:
    """The dossier's audit chain at this desk, verified now; reading it is recorded too (after
    the answer was read, so that the answer is the chain as it was verified)."""
    _readable(uow, officer, code, units)
    shown = audit.trail(uow, code)
    audit.record_by(uow, code, "read.audit", audit.by_officer(officer), None)
    return {"code": code, **shown}


def lookup(
    uow: UnitOfWork, code: str, credential: Credential, client: str, pins: Pins, now: datetime
) -> tuple[int, dict[str, Any]]:
    """Public status by code + PIN or link secret. No personal data. A wrong key and an unknown
    code look the same, and so does a lock: it is counted on the code tried, known or not.

    A locked client is refused whatever it sends, the right PIN included. A dossier locked by
    others' wrong guesses still opens with its link secret (132 bits: the lock guards the PIN's
    million values), so guessing at a code cannot lock its citizen out of their own link."""
    repo.guard_lookups(uow, code, client)
    opens = pins.accepts(repo.pin_hash_of(uow, code), code, credential)
    window = pins.window.total_seconds()
    client_until = retry_at(
        repo.nth_recent_failure(uow, "client", client, pins.max_failures, window), pins.window
    )
    dossier_until = retry_at(
        repo.nth_recent_failure(uow, "dossier_code", code, pins.max_failures_per_dossier, window),
        pins.window,
    )
    link_opens = opens and credential.kind == LINK
    until = client_until or (None if link_opens else dossier_until)
    if until is not None:
        metrics.LOOKUPS.labels(credential.kind, "locked").inc()
        return 429, locked_answer(until, now)
    if not opens:
        repo.record_lookup_failure(uow, client, code)  # committed: the 404 is an answer
        metrics.LOOKUPS.labels(credential.kind, "not_found").inc()
        return 404, dict(NOT_FOUND)
    metrics.LOOKUPS.labels(credential.kind, "opened").inc()
    record = repo.dossier_record(uow, code)
    assert record is not None
    milestones = [
        {
            "action": a["action"],
            "at": a["at"].astimezone(VN_TZ).isoformat(),
            "unit": a["actor"].get("unit"),
        }
        for a in repo.actions(uow, code, public_only=True)
    ]
    return 200, {
        "code": code,
        "status": record["status"],
        "status_text": life.STATUS_VI[record["status"]],
        "procedure": {"code": record["procedure"]["code"], "name": record["procedure"]["name"]},
        "received_at": record["received_at"].astimezone(VN_TZ).isoformat(),
        "appointment_at": record["due_at"].astimezone(VN_TZ).isoformat(),
        "current_step": record["current_step"],
        "milestones": milestones,
    }


def evaluate(
    uow: UnitOfWork,
    code: str,
    body: dict[str, Any],
    credential: Credential,
    client: str,
    pins: Pins,
    now: datetime,
) -> tuple[int, dict[str, Any]]:
    status, view = lookup(uow, code, credential, client, pins, now)
    if status != 200:
        return status, view
    if view["status"] not in life.EVALUABLE:
        raise ApiError(
            409,
            "not_evaluable_yet",
            "Chỉ đánh giá được sau khi hồ sơ đã có kết quả hoặc đã được giải quyết",
        )
    if not repo.insert_evaluation(uow, code, body["ratings"], body.get("comment"), now):
        raise ApiError(409, "already_evaluated", "Hồ sơ này đã được đánh giá")
    citizen = {"id": "citizen", "name": "Công dân", "unit": ""}
    repo.record_action(uow, code, "evaluated", citizen, now, {"ratings": body["ratings"]})
    origin = {"client": client}
    audit.record(uow, code, "dossier.evaluated", citizen, origin, now, {"ratings": body["ratings"]})
    uow.emit(
        "dossier.evaluated",
        code,
        {
            "code": code,
            "at": now.isoformat(),
            "ratings": body["ratings"],
            "comment": body.get("comment"),
        },
    )
    metrics.EVALUATIONS.labels(body["ratings"]["overall"]).inc()
    return 201, {"code": code, "evaluated": True}
