"""Appointments (due instants) with the real calendar file and real procedures.

Worked by hand from deploy/calendar.json + the `holidays` package (office hours 07:00-11:30,
13:30-17:00, i.e. 8 h a working day; n days = n x 8 h of office time from reception):

* Tết 2025: Mon 27 - Fri 31 Jan are days off; with the weekends, nothing counts from
  Sat 25 Jan to Sun 2 Feb.
* 30/4-1/5/2025: Wed 30 Apr and Thu 1 May are holidays, Fri 2 May is the swapped day off and
  Sat 26 Apr the make-up working day.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from pathlib import Path

import pytest
from intake.domain.catalogue import Procedure, procedure_from_entry
from intake.domain.reception import appointment
from motcua_kit.workcal import VN_TZ, WorkCalendar

REPO = Path(__file__).resolve().parents[4]
CATALOGUE = REPO / "services" / "intake" / "intake" / "data" / "procedures.json"
CALENDAR = WorkCalendar.from_file(REPO / "deploy" / "calendar.json")


def procedure(code: str) -> Procedure:
    entries = json.loads(CATALOGUE.read_text(encoding="utf-8"))["procedures"]
    (entry,) = [e for e in entries if e["code"] == code and e["version"] == 1]
    return procedure_from_entry(entry)


BIRTH_BUNDLE = procedure("2.000986")  # 3 working days, cut-off 15:00
BIRTH = procedure("1.001193")  # same day, cut-off 15:00
HOUSEHOLD_BUSINESS = procedure("1.001612")  # 3 working days, no cut-off


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def test_across_tet_the_birth_bundle_is_due_after_the_break() -> None:
    # Fri 24 Jan 10:00-17:00 = 5 h; Mon 3 Feb 8 h; Tue 4 Feb 8 h; Wed 5 Feb 3 h -> 10:00.
    assert (BIRTH_BUNDLE.processing_days, BIRTH_BUNDLE.same_day_cutoff) == (3, time(15, 0))
    for day in range(27, 32):
        assert not CALENDAR.is_working_day(vn(2025, 1, day).date())

    due = appointment(CALENDAR, BIRTH_BUNDLE, vn(2025, 1, 24, 10, 0))

    assert due == vn(2025, 2, 5, 10, 0)
    assert due.tzinfo == VN_TZ


def test_across_tet_after_the_cutoff_counts_from_the_first_day_back() -> None:
    # 15:30 is past the 15:00 cut-off: count from Mon 3 Feb 07:00, three full days.
    due = appointment(CALENDAR, BIRTH_BUNDLE, vn(2025, 1, 24, 15, 30))

    assert due == vn(2025, 2, 5, 17, 0)


def test_the_make_up_saturday_counts() -> None:
    # Thu 24 Apr 10:00-17:00 = 5 h; Fri 25 8 h; Sat 26 (make-up) 8 h; Mon 28 3 h -> 10:00.
    assert CALENDAR.is_working_day(vn(2025, 4, 26).date())
    assert not CALENDAR.is_working_day(vn(2025, 5, 2).date())

    due = appointment(CALENDAR, HOUSEHOLD_BUSINESS, vn(2025, 4, 24, 10, 0))

    assert due == vn(2025, 4, 28, 10, 0)


def test_without_the_make_up_saturday_the_due_date_is_a_day_later() -> None:
    # Same reception with only the package's holidays: Saturday 26 does not count.
    package_only = WorkCalendar()

    assert appointment(package_only, HOUSEHOLD_BUSINESS, vn(2025, 4, 24, 10, 0)) == vn(
        2025, 4, 29, 10, 0
    )


def test_the_30_april_break_is_skipped() -> None:
    # Mon 28 Apr 10:00: 5 h + Tue 29 8 h; Wed 30 - Sun 4 May off; Mon 5 May 8 h; Tue 6 3 h.
    due = appointment(CALENDAR, HOUSEHOLD_BUSINESS, vn(2025, 4, 28, 10, 0))

    assert due == vn(2025, 5, 6, 10, 0)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (vn(2025, 7, 14, 14, 0), vn(2025, 7, 14, 17, 0)),  # Monday, before the cut-off
        (vn(2025, 7, 14, 15, 0), vn(2025, 7, 15, 17, 0)),  # at the cut-off: next working day
        (vn(2025, 7, 14, 15, 30), vn(2025, 7, 15, 17, 0)),  # after the cut-off
        (vn(2025, 7, 18, 15, 30), vn(2025, 7, 21, 17, 0)),  # Friday after the cut-off: Monday
        (vn(2025, 7, 19, 10, 0), vn(2025, 7, 21, 17, 0)),  # Saturday: Monday
        (vn(2025, 7, 14, 6, 30), vn(2025, 7, 14, 17, 0)),  # before opening: same day
    ],
    ids=["14:00", "15:00", "15:30", "friday-15:30", "saturday", "06:30"],
)
def test_same_day_birth_registration(received: datetime, due: datetime) -> None:
    assert BIRTH.processing_days == 0

    assert appointment(CALENDAR, BIRTH, received) == due


def test_utc_input_gives_the_same_local_appointment() -> None:
    # 14:00 in Hà Nội is 07:00 UTC: still before the local 15:00 cut-off.
    received = datetime(2025, 7, 14, 7, 0, tzinfo=UTC)

    assert appointment(CALENDAR, BIRTH, received) == vn(2025, 7, 14, 17, 0)
