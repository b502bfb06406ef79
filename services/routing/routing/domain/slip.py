"""The processing control slip (Phiếu kiểm soát quá trình giải quyết hồ sơ, Form 05).

One row per hand-over: the agency, when the file was given and received, who gave and who
received it, and whether that step finished early, on time or late, in working days. Pass the
archived attempts (``Effect.archived``) with the current steps to show every hand-over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from motcua_kit.workcal import WorkCalendar

from routing.domain.agencies import Registry
from routing.domain.deadlines import LATE, TIMELINESS_VI, timeliness
from routing.domain.route import (
    AWAITING_SUPPLEMENT,
    COMPLETED,
    HELD,
    REASSIGNED,
    REFUSED,
    RETURNED,
    STATUS_VI,
    Step,
)

# A hand-over that ended with one of these is judged against its due instant.
FINISHED = (COMPLETED, REFUSED, RETURNED, REASSIGNED)


@dataclass(frozen=True)
class SlipRow:
    step_id: str
    stage: int
    agency_code: str
    agency_name: str
    task: str
    handed_at: datetime | None  # the step's assigned_at
    handed_by: dict[str, str] | None
    received_at: datetime | None  # accepted_at
    received_by: dict[str, str] | None
    due_at: datetime | None
    finished_at: datetime | None  # completed_at
    status: str
    timeliness: str | None  # None while open, except "late" once an open step is overdue
    working_days_taken: float | None  # handed -> finished, in working days
    index: int
    attempt: int
    role: str
    task_en: str
    status_vi: str
    timeliness_vi: str | None
    result_reference: str | None
    note: str | None


def control_slip(
    steps: Sequence[Step], registry: Registry, calendar: WorkCalendar, now: datetime
) -> list[SlipRow]:
    """The slip's rows, ordered by stage, index and attempt."""
    ordered = sorted(steps, key=lambda s: (s.stage, s.index, s.attempt))
    return [_row(s, registry, calendar, now) for s in ordered]


def _row(step: Step, registry: Registry, calendar: WorkCalendar, now: datetime) -> SlipRow:
    agency = registry.agencies.get(step.agency_code)
    mark = step_timeliness(step, calendar, now)
    taken = None
    if step.assigned_at is not None and step.completed_at is not None:
        taken = round(calendar.working_days_between(step.assigned_at, step.completed_at), 2)
    return SlipRow(
        step_id=step.id,
        stage=step.stage,
        agency_code=step.agency_code,
        agency_name=agency.name_vi if agency is not None else step.agency_code,
        task=step.task_vi,
        handed_at=step.assigned_at,
        handed_by=_actor(step.handed_by),
        received_at=step.accepted_at,
        received_by=_actor(step.received_by),
        due_at=step.due_at,
        finished_at=step.completed_at,
        status=step.status,
        timeliness=mark,
        working_days_taken=taken,
        index=step.index,
        attempt=step.attempt,
        role=step.role,
        task_en=step.task_en,
        status_vi=STATUS_VI.get(step.status, step.status),
        timeliness_vi=TIMELINESS_VI[mark] if mark else None,
        result_reference=step.result_reference,
        note=step.note,
    )


def step_timeliness(step: Step, calendar: WorkCalendar, now: datetime) -> str | None:
    """The mark for one hand-over; None while it runs on time, and for pending/cancelled steps.

    An open step is "late" once ``now`` is past its due instant; a step stopped for supplements
    only if it was already overdue when its clock stopped.
    """
    if step.due_at is None:
        return None
    if step.status in FINISHED and step.completed_at is not None:
        return timeliness(step.due_at, step.completed_at, calendar)
    if step.status in HELD and now > step.due_at:
        return LATE
    if step.status == AWAITING_SUPPLEMENT and (step.paused_at or now) > step.due_at:
        return LATE
    return None


def _actor(actor: Mapping[str, str] | None) -> dict[str, str] | None:
    return dict(actor) if actor is not None else None
