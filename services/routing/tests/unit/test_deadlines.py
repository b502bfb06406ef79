"""Deadlines in working time: marks, reminders, the apology (Form 04) and the lateness risk."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from motcua_kit.errors import ApiError
from motcua_kit.workcal import VN_TZ, WorkCalendar
from routing.domain.deadlines import (
    TIMELINESS_VI,
    Apology,
    apology_due_at,
    check_apology,
    lateness_risk,
    reminder_at,
    timeliness,
    will_miss,
)
from routing.domain.route import (
    ACCEPTED,
    ASSIGNED,
    AWAITING_SUPPLEMENT,
    COMPLETED,
    PENDING,
    Step,
)

REPO = Path(__file__).resolve().parents[4]
CALENDAR = WorkCalendar.from_file(REPO / "deploy" / "calendar.json")
CHIEF = {"id": "o-chief", "name": "Hoàng Văn Minh", "unit": "CA.H38.08"}


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


# --- timeliness ----------------------------------------------------------------------------------

THURSDAY = vn(2025, 7, 10, 10, 0)  # a plain week
MONDAY_AFTER_WEEKEND = vn(2025, 7, 14, 10, 0)
# Tết 2026 is Mon 16 - Fri 20 Feb: assigned Friday 13 Feb 10:00 for 2 working days.
BEFORE_TET = vn(2026, 2, 13, 10, 0)
AFTER_TET = vn(2026, 2, 24, 10, 0)


def test_a_two_day_step_across_tet_is_due_after_the_holiday() -> None:
    assert CALENDAR.add_working_days(BEFORE_TET, 2) == AFTER_TET


@pytest.mark.parametrize(
    ("due", "finished", "expected"),
    [
        (THURSDAY, vn(2025, 7, 9, 16, 0), "early"),
        (THURSDAY, vn(2025, 7, 10, 7, 30), "on_time"),
        (THURSDAY, THURSDAY, "on_time"),
        (THURSDAY, THURSDAY + timedelta(seconds=1), "late"),
        (THURSDAY, vn(2025, 7, 11, 8, 0), "late"),
        # across a weekend: Friday and Saturday are before Monday's working day
        (MONDAY_AFTER_WEEKEND, vn(2025, 7, 11, 16, 0), "early"),
        (MONDAY_AFTER_WEEKEND, vn(2025, 7, 12, 9, 0), "early"),
        (MONDAY_AFTER_WEEKEND, vn(2025, 7, 14, 9, 0), "on_time"),
        (MONDAY_AFTER_WEEKEND, vn(2025, 7, 14, 10, 30), "late"),
        # across Tết
        (AFTER_TET, vn(2026, 2, 17, 9, 0), "early"),  # worked during the holiday
        (AFTER_TET, vn(2026, 2, 23, 16, 0), "early"),
        (AFTER_TET, vn(2026, 2, 24, 9, 59), "on_time"),
        (AFTER_TET, vn(2026, 2, 25, 8, 0), "late"),
    ],
)
def test_timeliness_in_working_days(due: datetime, finished: datetime, expected: str) -> None:
    assert timeliness(due, finished, CALENDAR) == expected
    # Timestamps read back from PostgreSQL are UTC: the mark must not change.
    assert timeliness(due.astimezone(UTC), finished.astimezone(UTC), CALENDAR) == expected


def test_timeliness_counts_local_days_and_has_vietnamese_labels() -> None:
    # 06:00 on the due day in Hà Nội is 23:00 UTC the day before: on time, not early.
    assert timeliness(THURSDAY, vn(2025, 7, 10, 6, 0).astimezone(UTC), CALENDAR) == "on_time"
    assert TIMELINESS_VI == {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Quá hạn"}


# --- reminders -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "before", "expected"),
    [
        (vn(2025, 7, 10, 15, 0), timedelta(hours=3), vn(2025, 7, 10, 10, 0)),  # over lunch
        (vn(2025, 7, 10, 10, 0), timedelta(hours=8), vn(2025, 7, 9, 10, 0)),
        (vn(2025, 7, 14, 9, 0), timedelta(hours=4), vn(2025, 7, 11, 15, 0)),  # over a weekend
        (vn(2026, 2, 23, 9, 0), timedelta(hours=4), vn(2026, 2, 13, 15, 0)),  # over Tết
        (vn(2025, 7, 10, 17, 0), timedelta(hours=8), vn(2025, 7, 10, 7, 0)),
        (vn(2025, 7, 12, 9, 0), timedelta(hours=1), vn(2025, 7, 11, 16, 0)),  # due on a Saturday
    ],
)
def test_reminders_come_before_the_due_instant_in_office_time(
    due: datetime, before: timedelta, expected: datetime
) -> None:
    at = reminder_at(due, CALENDAR, before)

    assert at == expected
    assert CALENDAR.working_days_between(at, due) * 8 == pytest.approx(before / timedelta(hours=1))


def test_a_reminder_is_never_before_the_given_floor() -> None:
    assigned = vn(2025, 7, 10, 9, 0)

    assert reminder_at(vn(2025, 7, 10, 10, 0), CALENDAR, timedelta(hours=4), assigned) == assigned


# --- the apology (Form 04) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("appointment", "expected"),
    [
        (vn(2025, 7, 14, 10, 0), vn(2025, 7, 11, 7, 0)),  # Monday -> previous Friday
        (vn(2025, 7, 15, 17, 0), vn(2025, 7, 14, 7, 0)),
        (vn(2026, 2, 23, 10, 0), vn(2026, 2, 13, 7, 0)),  # after Tết -> the Friday before it
        (vn(2025, 5, 5, 10, 0), vn(2025, 4, 29, 7, 0)),  # after 30/4, 1/5 and the swapped 2/5
        (vn(2025, 4, 28, 10, 0), vn(2025, 4, 26, 7, 0)),  # the make-up Saturday works
        (vn(2025, 7, 13, 10, 0), vn(2025, 7, 10, 7, 0)),  # a Sunday counts as Friday
    ],
)
def test_the_apology_is_due_one_working_day_before_the_appointment(
    appointment: datetime, expected: datetime
) -> None:
    assert apology_due_at(appointment, CALENDAR) == expected
    assert apology_due_at(appointment.astimezone(UTC), CALENDAR) == expected


APPOINTMENT = vn(2025, 7, 10, 10, 0)
NOW = vn(2025, 7, 9, 8, 0)


def test_an_apology_may_set_a_later_date_once() -> None:
    check_apology(None, date(2025, 7, 14), APPOINTMENT, NOW, CALENDAR)  # no error
    given = Apology(
        "000.00.08.H38-250707-0001", "CA.H38.08", "Chờ xác minh", date(2025, 7, 14), CHIEF
    )

    with pytest.raises(ApiError) as raised:
        check_apology(given, date(2025, 7, 15), APPOINTMENT, NOW)

    assert (raised.value.status, raised.value.code) == (409, "apology_already_given")
    assert raised.value.extra == {"new_date": "2025-07-14"}


@pytest.mark.parametrize(
    ("new_date", "now", "code"),
    [
        (date(2025, 7, 10), NOW, "new_date_not_later"),  # the appointment's own day
        (date(2025, 7, 8), NOW, "new_date_not_later"),
        (date(2025, 7, 11), vn(2025, 7, 15, 9, 0), "new_date_in_past"),
        (date(2025, 7, 12), NOW, "new_date_not_working_day"),  # a Saturday
    ],
)
def test_an_apology_needs_a_later_working_date(new_date: date, now: datetime, code: str) -> None:
    with pytest.raises(ApiError) as raised:
        check_apology(None, new_date, APPOINTMENT, now, CALENDAR)

    assert (raised.value.status, raised.value.code) == (422, code)
    assert [p.field for p in raised.value.problems] == ["new_date"]


def test_the_appointment_day_is_the_local_one() -> None:
    # 06:30 on 11 July in Hà Nội is still 10 July in UTC: 11 July is not later.
    early_appointment = vn(2025, 7, 11, 6, 30).astimezone(UTC)

    with pytest.raises(ApiError):
        check_apology(None, date(2025, 7, 11), early_appointment, NOW, CALENDAR)


def step(status: str, due: datetime | None, stage: int = 1, days: int = 1, **kw: object) -> Step:
    return Step(
        id=f"D/{stage}.1",
        dossier_code="D",
        stage=stage,
        index=1,
        agency_code="A",
        role="lead",
        days=days,
        task_vi="Xử lý",
        task_en="Work",
        status=status,
        due_at=due,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("steps", "now", "expected"),
    [
        ([step(ACCEPTED, vn(2025, 7, 9, 10, 0))], NOW, False),
        ([step(ACCEPTED, vn(2025, 7, 10, 10, 0))], NOW, False),  # due at the appointment
        ([step(ASSIGNED, vn(2025, 7, 10, 11, 0))], NOW, True),  # due after it
        ([step(ACCEPTED, vn(2025, 7, 9, 10, 0))], vn(2025, 7, 10, 10, 1), True),  # past it
        ([step(COMPLETED, vn(2025, 7, 9, 10, 0))], vn(2025, 7, 11, 9, 0), False),
        ([], NOW, False),
        # overdue now, but it can still finish before the appointment
        ([step(ACCEPTED, vn(2025, 7, 8, 10, 0))], NOW, False),
        # the step after it needs 2 more days from Wednesday: Friday, after the appointment
        (
            [
                step(ACCEPTED, vn(2025, 7, 9, 10, 0)),
                step(PENDING, None, stage=2, days=2),
            ],
            NOW,
            True,
        ),
        (
            [
                step(ACCEPTED, vn(2025, 7, 8, 10, 0)),
                step(PENDING, None, stage=2, days=1),
            ],
            vn(2025, 7, 8, 9, 0),
            False,
        ),
        # stopped for supplements: judged by the due instant it had when it stopped
        (
            [step(AWAITING_SUPPLEMENT, vn(2025, 7, 11, 9, 0), paused_at=NOW)],
            vn(2025, 7, 9, 9, 0),
            True,
        ),
    ],
)
def test_will_miss(steps: list[Step], now: datetime, expected: bool) -> None:
    assert will_miss(APPOINTMENT, steps, now, CALENDAR) is expected


# --- lateness risk -------------------------------------------------------------------------------

RISK_NOW = vn(2025, 7, 7, 10, 0)
RISK_DUE = vn(2025, 7, 10, 10, 0)  # 3 working days away


def risk(backlog: int = 0, recent: tuple[float, ...] = (1.0,), now: datetime = RISK_NOW) -> float:
    return lateness_risk(now, RISK_DUE, backlog, recent, CALENDAR)


def test_lateness_risk_is_certain_at_and_past_the_due_instant() -> None:
    assert risk(now=RISK_DUE) == 1.0
    assert risk(now=vn(2025, 7, 11, 9, 0)) == 1.0
    assert risk(backlog=0, recent=(0.0,), now=vn(2025, 7, 14, 9, 0)) == 1.0


def test_lateness_risk_grows_with_the_backlog() -> None:
    risks = [risk(backlog=b) for b in range(0, 30)]

    assert risks == sorted(risks)
    assert risks[0] < 0.1 < 0.9 < risks[-1] < 1.0
    assert risk(backlog=2) == pytest.approx(0.5)  # 3 dossiers x 1 day = the 3 days left


def test_lateness_risk_grows_with_recent_processing_times() -> None:
    recent = [0.5, 1.0, 2.0, 1.5, 0.8]
    base = risk(backlog=1, recent=tuple(recent))
    for position in range(len(recent)):
        slower = list(recent)
        slower[position] += 2.0
        assert risk(backlog=1, recent=tuple(slower)) >= base
    assert risk(backlog=1, recent=(3.0, 3.0, 3.0)) > base


def test_lateness_risk_grows_as_time_passes_and_defaults_to_a_day_per_dossier() -> None:
    times = [RISK_NOW + timedelta(hours=h) for h in range(0, 72, 3)]
    risks = [risk(backlog=1, now=t) for t in times]

    assert risks == sorted(risks)
    assert lateness_risk(RISK_NOW, RISK_DUE, 2, [], CALENDAR) == pytest.approx(0.5)
    assert 0.0 <= risk(backlog=0, recent=(0.0,)) <= risk(backlog=0) <= 1.0
    with pytest.raises(ValueError, match="backlog"):
        risk(backlog=-1)
