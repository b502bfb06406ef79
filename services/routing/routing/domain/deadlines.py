"""Deadlines in working time: timeliness marks, reminders, the apology (Form 04), lateness risk.

Pure functions over a WorkCalendar; days are Vietnamese local days whatever the inputs' tz
(timestamps read back from PostgreSQL are UTC).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from statistics import median

from motcua_kit.errors import ApiError, Problem
from motcua_kit.workcal import WorkCalendar

from routing.domain.route import (
    AWAITING_SUPPLEMENT,
    ENDED,
    HELD,
    PENDING,
    REASSIGNED,
    RETURNED,
    Step,
)

EARLY, ON_TIME, LATE = "early", "on_time", "late"
TIMELINESS_VI = {EARLY: "Trước hạn", ON_TIME: "Đúng hạn", LATE: "Quá hạn"}

# Shape of the lateness-risk curve (see lateness_risk): 3 gives 11 % at half the time needed
# and 89 % at twice, 50 % when the expected work exactly fills the time left.
RISK_SHAPE = 3.0
DEFAULT_DAYS_PER_DOSSIER = 1.0


# --- marks ---------------------------------------------------------------------------------------


def timeliness(due_at: datetime, finished_at: datetime, calendar: WorkCalendar) -> str:
    """The mark of a finished step or dossier against its due instant.

    "early": finished on a (local) day before the due instant's day; "on_time": on that day and
    not after the instant; "late": after the instant. Vietnamese labels: TIMELINESS_VI.
    """
    return timeliness_in(due_at, finished_at, calendar.tz)


def timeliness_in(due_at: datetime, finished_at: datetime, tz: tzinfo) -> str:
    if finished_at > due_at:
        return LATE
    if finished_at.astimezone(tz).date() < due_at.astimezone(tz).date():
        return EARLY
    return ON_TIME


# --- reminders -----------------------------------------------------------------------------------


def reminder_at(
    due_at: datetime,
    calendar: WorkCalendar,
    before: timedelta,
    not_before: datetime | None = None,
) -> datetime:
    """``before`` of office time (not wall time) before ``due_at``; never before ``not_before``.

    Monday 09:00 less 4 hours is the previous Friday 15:00 (2 hours on Monday, 2 on Friday):
    nights, lunch breaks, weekends and holidays are skipped as in ``add_working_time``.
    """
    at = subtract_working_time(calendar, due_at, before)
    if not_before is not None and at < not_before:
        return not_before.astimezone(calendar.tz)
    return at


def subtract_working_time(calendar: WorkCalendar, instant: datetime, amount: timedelta) -> datetime:
    """The latest instant ``t`` with ``amount`` of office time between ``t`` and ``instant``.

    The inverse of ``WorkCalendar.add_working_time``, except at a lunch break (a result landing on
    a session boundary is the morning's close, not the afternoon's opening) and a full day (the
    day's opening, not the previous day's close).
    """
    if amount < timedelta(0):
        raise ValueError(f"amount must be >= 0, got {amount}")
    local = instant.astimezone(calendar.tz)
    if amount == timedelta(0):
        return local
    hours = calendar.office_hours
    day = local.date()
    if calendar.is_working_day(day):
        done = hours.elapsed(local.time())  # office time of that day before the instant
    else:
        day, done = previous_working_day(calendar, day), hours.day_length
    left = amount
    while left > done:
        left -= done
        day, done = previous_working_day(calendar, day), hours.day_length
    target = done - left
    if target == timedelta(0):
        return datetime.combine(day, hours.opening, tzinfo=calendar.tz)
    return datetime.combine(day, hours.time_at(target), tzinfo=calendar.tz)


def previous_working_day(calendar: WorkCalendar, d: date) -> date:
    """The last working day strictly before ``d``."""
    for back in range(1, 367):
        candidate = d - timedelta(days=back)
        if calendar.is_working_day(candidate):
            return candidate
    raise ValueError(f"no working day in the year before {d.isoformat()}")


# --- the apology (Form 04) -----------------------------------------------------------------------


def apology_due_at(appointment_at: datetime, calendar: WorkCalendar) -> datetime:
    """The opening of the working day before the appointment's working day.

    Appointment Monday 10:00 -> the previous Friday 07:00 (holidays skipped). An appointment on
    a day off counts as due on the last working day before it.
    """
    day = appointment_at.astimezone(calendar.tz).date()
    if not calendar.is_working_day(day):
        day = previous_working_day(calendar, day)
    before = previous_working_day(calendar, day)
    return datetime.combine(before, calendar.office_hours.opening, tzinfo=calendar.tz)


def will_miss(
    appointment_at: datetime, open_steps: Sequence[Step], now: datetime, calendar: WorkCalendar
) -> bool:
    """Will the dossier miss its appointment? Pass its open steps (the whole route works too).

    True when ``now`` is past the appointment with a step unfinished, or when a step's projected
    finish is after it: a held step's due instant (``now`` if already overdue); a step awaiting
    supplements, its due instant as when it stopped (its clock and the dossier's stopped
    together); a PENDING step, its share of days after its previous stages' projected finish.
    """
    unfinished = [s for s in open_steps if s.status not in (*ENDED, RETURNED, REASSIGNED)]
    if not unfinished:
        return False
    if now > appointment_at:
        return True
    finished_by = now
    for stage in sorted({s.stage for s in unfinished}):
        stage_start = finished_by
        for s in (s for s in unfinished if s.stage == stage):
            projected = _projected_finish(s, stage_start, now, calendar)
            if projected > appointment_at:
                return True
            finished_by = max(finished_by, projected)
    return False


def _projected_finish(
    step: Step, stage_start: datetime, now: datetime, calendar: WorkCalendar
) -> datetime:
    if step.status == PENDING or step.due_at is None:
        return calendar.add_working_days(stage_start, step.days)
    if step.status == AWAITING_SUPPLEMENT:
        return max(step.due_at, step.paused_at or step.due_at)
    if step.status in HELD:
        return max(step.due_at, now)
    return now


@dataclass(frozen=True)
class Apology:
    dossier_code: str
    agency_code: str
    reason: str
    new_date: date
    officer: Mapping[str, str]


def check_apology(
    existing: Apology | None,
    new_date: date,
    appointment_at: datetime,
    now: datetime,
    calendar: WorkCalendar | None = None,
) -> None:
    """A new appointment may be set only once (409), and only for a later day (422).

    The new date must be after the appointment's (local) date and not before today; with a
    ``calendar`` it must also be a working day.
    """
    if existing is not None:
        raise ApiError(
            409,
            "apology_already_given",
            "Đã có văn bản xin lỗi và hẹn lại ngày trả kết quả: chỉ được hẹn lại một lần",
            extra={"new_date": existing.new_date.isoformat()},
        )
    tz = calendar.tz if calendar is not None else None
    appointment_day = appointment_at.astimezone(tz).date()
    today = now.astimezone(tz).date()
    if new_date <= appointment_day:
        _bad_date(
            "new_date_not_later",
            f"Ngày hẹn mới phải sau ngày hẹn cũ ({appointment_day.strftime('%d/%m/%Y')})",
        )
    if new_date < today:
        _bad_date("new_date_in_past", "Ngày hẹn mới không được trước ngày hôm nay")
    if calendar is not None and not calendar.is_working_day(new_date):
        _bad_date("new_date_not_working_day", "Ngày hẹn mới phải là ngày làm việc")


def _bad_date(code: str, message: str) -> None:
    raise ApiError(422, code, message, problems=[Problem("new_date", code, message)])


# --- lateness risk -------------------------------------------------------------------------------


def lateness_risk(
    now: datetime,
    due_at: datetime,
    backlog: int,
    recent_days: Sequence[float],
    calendar: WorkCalendar,
) -> float:
    """The risk, 0..1, that an open step finishes after ``due_at`` (beyond the law: an estimate).

    * ``recent_days``: the holding agency's recent working days per dossier it finished (e.g.
      accepted -> completed); ``m`` = their median, 1 working day when there is no history.
    * ``backlog``: the dossiers the agency holds besides this one; worked one after another,
      the expected work is ``need = (backlog + 1) * m`` working days.
    * ``left`` = working days from ``now`` to ``due_at``; when ``left <= 0``: risk 1.0.
    * ``risk = need^k / (need^k + left^k)`` with ``k = RISK_SHAPE`` (3): the chance that the
      actual time exceeds ``left`` if it is log-logistic with median ``need``, i.e. 0.5 when the
      expected work exactly fills the time left, ~0.11 at half, ~0.89 at twice.

    Non-decreasing in ``backlog``, in every recent duration and in ``now``.
    """
    if backlog < 0:
        raise ValueError(f"backlog must be >= 0, got {backlog}")
    left = calendar.working_days_between(now, due_at)
    if left <= 0:
        return 1.0
    per_dossier = (
        median(max(float(d), 0.0) for d in recent_days) if recent_days else DEFAULT_DAYS_PER_DOSSIER
    )
    need = (backlog + 1) * per_dossier
    if need <= 0:
        return 0.0
    return float(need**RISK_SHAPE / (need**RISK_SHAPE + left**RISK_SHAPE))
