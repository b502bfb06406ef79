"""From events to facts: one function per event type, the same live and when rebuilding.

Every effect is either an addition (counts) or a change guarded by the event's own time (a status
moves only forward in time), so the facts do not depend on the order in which two events about
different things, or a redelivered one, arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from motcua_kit.db import UnitOfWork
from motcua_kit.workcal import WorkCalendar

from reporting.adapters import repository as repo
from reporting.domain import facts
from reporting.domain.facts import OPEN_STEP, instant, local_day, when


class NotYetReceived(RuntimeError):
    """An event about a dossier whose reception has not been applied yet: the consumer retries."""


Handler = Callable[[UnitOfWork, WorkCalendar, dict[str, Any]], None]


def project(uow: UnitOfWork, calendar: WorkCalendar, event: dict[str, Any]) -> None:
    handler = HANDLERS.get(event["type"])
    if handler is not None:
        handler(uow, calendar, event)


# --- intake ------------------------------------------------------------------------------------


def _received(uow: UnitOfWork, calendar: WorkCalendar, event: dict[str, Any]) -> None:
    r = facts.received(event["data"])
    if r.field_name:
        repo.name_field(uow, r)
    if repo.add_dossier(uow, r):
        dossier = repo.dossier(uow, r.code)
        assert dossier is not None
        repo.count_day(uow, local_day(r.received_at), dossier, received=1)


def _known(uow: UnitOfWork, event: dict[str, Any]) -> dict[str, Any]:
    code = str(event["data"].get("code") or event.get("subject"))
    dossier = repo.dossier(uow, code)
    if dossier is None:
        raise NotYetReceived(f"dossier {code} not received here yet")
    return dossier


def _supplement_requested(uow: UnitOfWork, calendar: WorkCalendar, event: dict[str, Any]) -> None:
    dossier, at = _known(uow, event), when(event)
    repo.add_to_dossier(uow, dossier["code"], supplement_requests=1)
    repo.set_status(uow, dossier["code"], "awaiting_supplement", at)
    repo.count_day(uow, local_day(at), dossier, supplement_requested=1)


def _supplemented(uow: UnitOfWork, calendar: WorkCalendar, event: dict[str, Any]) -> None:
    dossier, at, data = _known(uow, event), when(event), event["data"]
    paused = float(data.get("paused_working_days") or 0)
    repo.add_to_dossier(uow, dossier["code"], paused_working_days=paused)
    if dossier["status_at"] <= at and data.get("due_at"):
        repo.update_dossier(uow, dossier["code"], due_at=instant(data["due_at"]))
    repo.set_status(uow, dossier["code"], "in_progress", at)
    done = dossier["processing_working_days"]
    if paused and done is not None:
        # The result was applied first (one dossier's events may be handled concurrently, as
        # when catching up): take this pause off its processing time too.
        days = facts.processing_days(
            calendar,
            dossier["received_at"],
            dossier["ended_at"],
            dossier["paused_working_days"] + paused,
        )
        repo.update_dossier(uow, dossier["code"], processing_working_days=days)
        repo.count_day(uow, local_day(dossier["ended_at"]), dossier, processing_days=days - done)


def _rescheduled(uow: UnitOfWork, calendar: WorkCalendar, event: dict[str, Any]) -> None:
    dossier, data = _known(uow, event), event["data"]
    repo.add_to_dossier(uow, dossier["code"], rescheduled=1)
    if data.get("due_at"):
        repo.update_dossier(uow, dossier["code"], due_at=instant(data["due_at"]))


def _ended(outcome: str) -> Handler:
    def handle(uow: UnitOfWork, calendar: WorkCalendar, event: dict[str, Any]) -> None:
        dossier, at = _known(uow, event), when(event)
        if dossier["ended_at"] is not None:
            return
        repo.update_dossier(uow, dossier["code"], ended_at=at, outcome=outcome)
        repo.set_status(uow, dossier["code"], outcome, at)
        repo.count_day(uow, local_day(at), dossier, **{outcome: 1})

    return handle


def _result_ready(uow: UnitOfWork, calendar: WorkCalendar, event: dict[str, Any]) -> None:
    dossier, at, data = _known(uow, event), when(event), event["data"]
    if dossier["ended_at"] is not None:
        return
    timeliness = facts.timeliness(data.get("timeliness"))
    days = facts.processing_days(
        calendar, dossier["received_at"], at, dossier["paused_working_days"]
    )
    electronic = bool(data.get("electronic"))
    repo.update_dossier(
        uow,
        dossier["code"],
        ended_at=at,
        outcome="completed",
        timeliness=timeliness,
        processing_working_days=days,
        electronic_result=electronic,
    )
    if data.get("due_at"):  # the last appointment, even if a supplement is applied after this
        repo.update_dossier(uow, dossier["code"], due_at=instant(data["due_at"]))
    repo.set_status(uow, dossier["code"], "result_ready", at)
    repo.count_day(
        uow,
        local_day(at),
        dossier,
        **{f"completed_{timeliness}": 1},
        processing_days=days,
        electronic_results=int(electronic),
    )


def _returned(uow: UnitOfWork, calendar: WorkCalendar, event: dict[str, Any]) -> None:
    dossier, at = _known(uow, event), when(event)
    if dossier["returned_at"] is not None:
        return
    repo.update_dossier(uow, dossier["code"], returned_at=at)
    repo.set_status(uow, dossier["code"], "returned", at)
    repo.count_day(uow, local_day(at), dossier, returned=1)


def _evaluated(uow: UnitOfWork, calendar: WorkCalendar, event: dict[str, Any]) -> None:
    dossier, at = _known(uow, event), when(event)
    if repo.add_evaluation(uow, dossier, at, event["data"].get("ratings")):
        repo.update_dossier(uow, dossier["code"], evaluated_at=at)


# --- routing -----------------------------------------------------------------------------------


def _step(uow: UnitOfWork, calendar: WorkCalendar, event: dict[str, Any]) -> None:
    data, at = event["data"], when(event)
    status = data.get("status") or event["type"].split(".", 1)[1]
    completed = event["type"] == "step.completed"
    task = data.get("task") or {}
    moved = repo.upsert_step(
        uow,
        {
            "step_id": data["step_id"],
            "code": data["code"],
            "unit": facts.unit_of(data["code"]),
            "agency": data["agency"],
            "role": data.get("role"),
            "stage": data.get("stage"),
            "attempt": data.get("attempt") or 1,
            "status": status,
            "status_at": at,
            "open": status in OPEN_STEP,
            "assigned_at": instant(data.get("assigned_at")),
            "due_at": instant(data.get("due_at")),
            "completed_at": at if completed else None,
            "timeliness": facts.timeliness(data.get("timeliness")) if completed else None,
            "task": task.get("vi") if isinstance(task, dict) else task,
        },
    )
    if completed and moved:
        repo.count_step_day(
            uow,
            local_day(at),
            data["agency"],
            facts.unit_of(data["code"]),
            facts.timeliness(data.get("timeliness")),
        )


def _step_overdue(uow: UnitOfWork, calendar: WorkCalendar, event: dict[str, Any]) -> None:
    repo.mark_step(uow, event["data"]["step_id"], overdue_at=when(event))


def _step_at_risk(uow: UnitOfWork, calendar: WorkCalendar, event: dict[str, Any]) -> None:
    risk = float(event["data"].get("lateness_risk") or 0)
    repo.mark_step(uow, event["data"]["step_id"], at_risk=risk)


def _route_ended(uow: UnitOfWork, calendar: WorkCalendar, event: dict[str, Any]) -> None:
    repo.close_steps(uow, event["data"]["code"], when(event))


# --- notification ------------------------------------------------------------------------------


def _notification(outcome: str) -> Handler:
    def handle(uow: UnitOfWork, calendar: WorkCalendar, event: dict[str, Any]) -> None:
        data = event["data"]
        repo.count_notification(
            uow, local_day(when(event)), data["channel"], data["message"], outcome
        )

    return handle


HANDLERS: dict[str, Handler] = {
    "dossier.received": _received,
    "dossier.supplement_requested": _supplement_requested,
    "dossier.supplemented": _supplemented,
    "dossier.rescheduled": _rescheduled,
    "dossier.refused": _ended("refused"),
    "dossier.withdrawn": _ended("withdrawn"),
    "dossier.result_ready": _result_ready,
    "dossier.returned": _returned,
    "dossier.evaluated": _evaluated,
    **{
        f"step.{name}": _step
        for name in (
            "assigned",
            "accepted",
            "completed",
            "supplement_requested",
            "resumed",
            "refused",
            "returned",
            "reassigned",
        )
    },
    "step.overdue": _step_overdue,
    "step.at_risk": _step_at_risk,
    "route.cancelled": _route_ended,
    "route.refused": _route_ended,
    "notification.sent": _notification("sent"),
    "notification.delivered": _notification("delivered"),
    "notification.failed": _notification("failed"),
}
