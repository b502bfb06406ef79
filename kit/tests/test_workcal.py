"""Tests for the working-day calendar (real VN holidays from the `holidays` package, tmp files)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from motcua_kit import workcal
from motcua_kit.workcal import VN_TZ, OfficeHours, WorkCalendar

APR_26_2025 = date(2025, 4, 26)  # make-up Saturday
MAY_2_2025 = date(2025, 5, 2)  # its swapped Friday off


def vn(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar(makeup_workdays=[APR_26_2025], days_off={MAY_2_2025: "swap 2025"})


def brute_force_working_days(c: WorkCalendar, start: date, end: date) -> list[date]:
    """Independent reference: every working day in [start, end), one day at a time."""
    days, d = [], start
    while d < end:
        if c.is_working_day(d):
            days.append(d)
        d += timedelta(days=1)
    return days


# --- office hours ------------------------------------------------------------------------------


def test_default_office_hours_are_eight_hours() -> None:
    assert OfficeHours().day_length == timedelta(hours=8)


def test_custom_office_hours_day_length() -> None:
    hours = OfficeHours(sessions=((time(8), time(12)), (time(13), time(16, 30))))
    assert hours.day_length == timedelta(hours=7, minutes=30)


@pytest.mark.parametrize(
    "sessions",
    [
        (),
        ((time(12), time(8)),),
        ((time(8), time(12)), (time(11), time(17))),
        ((time(13), time(17)), (time(7), time(11))),
    ],
)
def test_invalid_office_hours_are_rejected(sessions: tuple[tuple[time, time], ...]) -> None:
    with pytest.raises(ValueError):
        OfficeHours(sessions=sessions)


# --- working days ------------------------------------------------------------------------------


def test_weekdays_and_weekends(cal: WorkCalendar) -> None:
    assert cal.is_working_day(date(2025, 3, 10))  # Monday
    assert not cal.is_working_day(date(2025, 3, 8))  # Saturday
    assert not cal.is_working_day(date(2025, 3, 9))  # Sunday


def test_tet_2025_is_known_to_the_package() -> None:
    # The government's Tết 2025 break for officials: Mon 27 - Fri 31 Jan 2025.
    plain = WorkCalendar()
    tet = [date(2025, 1, 27) + timedelta(days=i) for i in range(5)]
    assert [plain.is_working_day(d) for d in tet] == [False] * 5
    assert plain.is_working_day(date(2025, 1, 24))
    assert plain.is_working_day(date(2025, 2, 3))
    assert plain.holiday_name(date(2025, 1, 29)) == "Tết Nguyên Đán"


def test_tet_2026_is_known_to_the_package() -> None:
    plain = WorkCalendar()
    tet = [date(2026, 2, 16) + timedelta(days=i) for i in range(5)]
    assert [plain.is_working_day(d) for d in tet] == [False] * 5
    assert plain.next_working_day(date(2026, 2, 13)) == date(2026, 2, 23)


def test_makeup_saturday_works_and_swapped_friday_does_not(cal: WorkCalendar) -> None:
    assert cal.is_working_day(APR_26_2025)
    assert not cal.is_working_day(MAY_2_2025)
    assert not cal.is_working_day(date(2025, 4, 30))
    assert not cal.is_working_day(date(2025, 5, 1))
    # Without the operator entry, 26 April stays an ordinary Saturday.
    assert not WorkCalendar().is_working_day(APR_26_2025)


def test_substitute_day_from_the_package(cal: WorkCalendar) -> None:
    # Hùng Kings 2026 falls on Sunday 26 April: Monday 27 April is the substitute day off.
    assert not cal.is_working_day(date(2026, 4, 27))
    assert cal.holiday_name(date(2026, 4, 27)) is not None
    assert cal.is_working_day(date(2026, 4, 28))


def test_operator_day_off_and_makeup_override_weekday_and_holiday() -> None:
    c = WorkCalendar(days_off=[date(2025, 3, 12)], makeup_workdays=[date(2025, 1, 1)])
    assert not c.is_working_day(date(2025, 3, 12))
    assert c.is_working_day(date(2025, 1, 1))  # cancels a public holiday


def test_without_public_holidays() -> None:
    c = WorkCalendar(use_public_holidays=False)
    assert c.is_working_day(date(2025, 1, 1))
    assert c.holiday_name(date(2025, 1, 1)) is None


def test_same_date_off_and_makeup_is_rejected() -> None:
    with pytest.raises(ValueError, match="2025-04-26"):
        WorkCalendar(days_off=[APR_26_2025], makeup_workdays=[APR_26_2025])


def test_holiday_names(cal: WorkCalendar) -> None:
    assert cal.holiday_name(date(2025, 1, 1)) == "Tết Dương lịch"
    assert cal.holiday_name(date(2025, 3, 10)) is None  # ordinary Monday
    assert cal.holiday_name(date(2025, 3, 8)) is None  # plain Saturday
    assert cal.holiday_name(APR_26_2025) is None  # make-up day is not a holiday
    election = date(2025, 3, 12)
    assert WorkCalendar(days_off={election: "Bầu cử"}).holiday_name(election) == "Bầu cử"
    assert WorkCalendar(days_off=[election]).holiday_name(election) == "Ngày nghỉ"


def test_next_working_day(cal: WorkCalendar) -> None:
    assert cal.next_working_day(date(2025, 3, 7)) == date(2025, 3, 10)  # Fri -> Mon
    assert cal.next_working_day(date(2025, 3, 10)) == date(2025, 3, 11)
    assert cal.next_working_day(date(2025, 1, 24)) == date(2025, 2, 3)  # over Tết
    assert cal.next_working_day(date(2025, 12, 31)) == date(2026, 1, 2)  # over 1/1
    assert cal.next_working_day(date(2025, 4, 25)) == APR_26_2025


# --- instants ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (vn(2025, 3, 10, 10), vn(2025, 3, 10, 10)),  # inside: unchanged
        (vn(2025, 3, 10, 6), vn(2025, 3, 10, 7)),  # before opening
        (vn(2025, 3, 10, 11, 30), vn(2025, 3, 10, 13, 30)),  # lunch starts at 11:30
        (vn(2025, 3, 10, 12), vn(2025, 3, 10, 13, 30)),
        (vn(2025, 3, 10, 17), vn(2025, 3, 11, 7)),  # closing time is after hours
        (vn(2025, 3, 8, 10), vn(2025, 3, 10, 7)),  # Saturday
        (vn(2025, 1, 24, 18), vn(2025, 2, 3, 7)),  # Friday evening before Tết
    ],
)
def test_working_start(cal: WorkCalendar, instant: datetime, expected: datetime) -> None:
    assert cal.working_start(instant) == expected


def test_results_are_in_calendar_tz(cal: WorkCalendar) -> None:
    utc_start = datetime(2025, 3, 10, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
    result = cal.add_working_days(utc_start, 3)
    assert result.tzinfo == VN_TZ
    assert (result.year, result.month, result.day, result.hour) == (2025, 3, 13, 10)
    assert cal.working_start(utc_start).tzinfo == VN_TZ


def test_other_calendar_tz() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    c = WorkCalendar(tz=tokyo, use_public_holidays=False)
    # 09:00 in Hà Nội is 11:00 in Tokyo: office hours are read on the Tokyo wall clock.
    result = c.add_working_days(vn(2025, 3, 10, 9), 1)
    assert result == datetime(2025, 3, 11, 11, tzinfo=tokyo)
    assert result.tzinfo == tokyo


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.working_start(datetime(2025, 3, 10, 10)),
        lambda c: c.add_working_days(datetime(2025, 3, 10, 10), 1),
        lambda c: c.working_days_between(datetime(2025, 3, 10, 10), vn(2025, 3, 11, 10)),
        lambda c: c.working_days_between(vn(2025, 3, 10, 10), datetime(2025, 3, 11, 10)),
    ],
)
def test_naive_datetimes_are_rejected(cal: WorkCalendar, call: Any) -> None:
    with pytest.raises(ValueError, match="naive"):
        call(cal)


# --- add_working_days ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (vn(2025, 3, 10, 10), 3, vn(2025, 3, 13, 10)),  # Mon 10:00 + 3 -> Thu 10:00
        (vn(2025, 3, 10, 7), 3, vn(2025, 3, 12, 17)),  # ends at close of 3rd day
        (vn(2025, 3, 10, 6), 1, vn(2025, 3, 10, 17)),  # before opening counts from 07:00
        (vn(2025, 3, 10, 13, 30), 1, vn(2025, 3, 11, 11, 30)),  # morning close stays
        (vn(2025, 3, 10, 12), 1, vn(2025, 3, 11, 11, 30)),  # lunch counts from 13:30
        (vn(2025, 3, 10, 16), 1, vn(2025, 3, 11, 16)),
        (vn(2025, 3, 10, 18), 1, vn(2025, 3, 11, 17)),  # after hours -> next day
        (vn(2025, 3, 7, 10), 1, vn(2025, 3, 10, 10)),  # Friday -> Monday
        (vn(2025, 3, 8, 10), 2, vn(2025, 3, 11, 17)),  # Saturday -> Mon 07:00 + 2
        (vn(2025, 3, 10, 10, 15), 10, vn(2025, 3, 24, 10, 15)),
    ],
)
def test_add_working_days(
    cal: WorkCalendar, start: datetime, days: int, expected: datetime
) -> None:
    assert cal.add_working_days(start, days) == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (vn(2025, 3, 10, 10), vn(2025, 3, 10, 17)),
        (vn(2025, 3, 10, 12), vn(2025, 3, 10, 17)),  # lunch: still today
        (vn(2025, 3, 10, 17), vn(2025, 3, 11, 17)),  # after close: next working day
        (vn(2025, 3, 8, 10), vn(2025, 3, 10, 17)),  # weekend: Monday
    ],
)
def test_zero_days_means_same_working_day(
    cal: WorkCalendar, start: datetime, expected: datetime
) -> None:
    assert cal.add_working_days(start, 0) == expected


def test_negative_days_rejected(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(vn(2025, 3, 10, 10), -1)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (vn(2025, 3, 10, 14), 0, vn(2025, 3, 10, 17)),  # before cut-off: same day
        (vn(2025, 3, 10, 15), 0, vn(2025, 3, 11, 17)),  # at cut-off: next day
        (vn(2025, 3, 10, 15, 30), 0, vn(2025, 3, 11, 17)),
        (vn(2025, 3, 7, 15, 30), 0, vn(2025, 3, 10, 17)),  # Friday -> Monday
        (vn(2025, 3, 10, 15, 30), 2, vn(2025, 3, 12, 17)),  # counts from Tue 07:00
        (vn(2025, 3, 8, 16), 0, vn(2025, 3, 10, 17)),  # Saturday: cut-off not relevant
        (vn(2025, 4, 26, 15, 30), 0, vn(2025, 4, 28, 17)),  # applies on make-up Saturday
        (vn(2025, 4, 26, 14), 0, vn(2025, 4, 26, 17)),
    ],
)
def test_cutoff(cal: WorkCalendar, start: datetime, days: int, expected: datetime) -> None:
    assert cal.add_working_days(start, days, cutoff=time(15)) == expected


def test_cutoff_uses_local_time(cal: WorkCalendar) -> None:
    # 08:30 UTC is 15:30 in Hà Nội: past the cut-off there.
    start = datetime(2025, 3, 10, 8, 30, tzinfo=UTC)
    assert cal.add_working_days(start, 0, cutoff=time(15)) == vn(2025, 3, 11, 17)


def test_tet_2025_is_skipped(cal: WorkCalendar) -> None:
    # Received Friday 24 Jan 2025 14:00, 3 working days: Tết (27-31 Jan) and two weekends skipped.
    assert cal.add_working_days(vn(2025, 1, 24, 14), 3) == vn(2025, 2, 5, 14)


def test_tet_2026_is_skipped(cal: WorkCalendar) -> None:
    assert cal.add_working_days(vn(2026, 2, 13, 10), 1) == vn(2026, 2, 23, 10)


def test_makeup_saturday_counts_in_deadlines(cal: WorkCalendar) -> None:
    assert cal.add_working_days(vn(2025, 4, 25, 10), 1) == vn(2025, 4, 26, 10)
    # 30/4, 1/5 and the swapped 2/5 are skipped, then the weekend.
    assert cal.add_working_days(vn(2025, 4, 29, 10), 1) == vn(2025, 5, 5, 10)
    assert WorkCalendar().add_working_days(vn(2025, 4, 25, 10), 1) == vn(2025, 4, 28, 10)


def test_substitute_day_is_skipped(cal: WorkCalendar) -> None:
    # Fri 24 Apr 2026 + 1: Mon 27 Apr is the Hùng Kings substitute day.
    assert cal.add_working_days(vn(2026, 4, 24, 10), 1) == vn(2026, 4, 28, 10)


def test_range_spanning_years(cal: WorkCalendar) -> None:
    # Wed 31 Dec 2025 + 2: Thu 1 Jan 2026 is a holiday -> Fri 2 Jan, Mon 5 Jan.
    assert cal.add_working_days(vn(2025, 12, 31, 10), 2) == vn(2026, 1, 5, 10)


def test_long_range_matches_day_by_day_reference(cal: WorkCalendar) -> None:
    start = vn(2024, 6, 3, 9)  # a Monday
    result = cal.add_working_days(start, 1500)
    reference = brute_force_working_days(cal, date(2024, 6, 3), date(2032, 1, 1))
    assert result == vn(*reference[1500].timetuple()[:3], 9)


def test_custom_office_hours_arithmetic() -> None:
    hours = OfficeHours(sessions=((time(8), time(16)),))
    c = WorkCalendar(office_hours=hours, use_public_holidays=False)
    assert c.add_working_days(vn(2025, 3, 10, 8), 1) == vn(2025, 3, 10, 16)
    assert c.add_working_days(vn(2025, 3, 10, 12), 1) == vn(2025, 3, 11, 12)
    assert c.add_working_days(vn(2025, 3, 10, 12), 0) == vn(2025, 3, 10, 16)


# --- working_days_between -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (vn(2025, 3, 10, 10), vn(2025, 3, 13, 10), 3.0),
        (vn(2025, 3, 10, 11), vn(2025, 3, 10, 14), 0.125),  # 30 + 30 min: lunch excluded
        (vn(2025, 3, 7, 16), vn(2025, 3, 10, 8), 0.25),  # over the weekend
        (vn(2025, 3, 10, 18), vn(2025, 3, 11, 6), 0.0),  # overnight
        (vn(2025, 3, 8, 9), vn(2025, 3, 9, 15), 0.0),  # weekend only
        (vn(2025, 1, 24, 14), vn(2025, 2, 5, 14), 3.0),  # over Tết 2025
        (vn(2025, 4, 25, 7), vn(2025, 4, 28, 7), 2.0),  # make-up Saturday counts
        (vn(2025, 3, 13, 10), vn(2025, 3, 10, 10), -3.0),  # reversed
        (vn(2025, 3, 10, 10), vn(2025, 3, 10, 10), 0.0),
    ],
)
def test_working_days_between(cal: WorkCalendar, a: datetime, b: datetime, expected: float) -> None:
    assert cal.working_days_between(a, b) == pytest.approx(expected)


def test_between_mixed_timezones(cal: WorkCalendar) -> None:
    a = datetime(2025, 3, 10, 3, tzinfo=UTC)  # Mon 10:00 in Hà Nội
    assert cal.working_days_between(a, vn(2025, 3, 11, 10)) == pytest.approx(1.0)


def test_between_spanning_years_matches_reference(cal: WorkCalendar) -> None:
    expected = len(brute_force_working_days(cal, date(2024, 1, 1), date(2027, 1, 1)))
    got = cal.working_days_between(vn(2024, 1, 1), vn(2027, 1, 1))
    assert got == pytest.approx(expected)
    assert 700 < expected < 800


@pytest.mark.parametrize("days", [0, 1, 3, 7, 20])
@pytest.mark.parametrize("hh_mm", [(7, 0), (9, 45), (11, 29), (13, 30), (16, 59)])
def test_add_and_between_agree(cal: WorkCalendar, days: int, hh_mm: tuple[int, int]) -> None:
    start = vn(2025, 1, 22, *hh_mm)  # the Wednesday before Tết 2025
    end = cal.add_working_days(start, days)
    if days:
        assert cal.working_days_between(start, end) == pytest.approx(days)
    else:
        assert end == vn(2025, 1, 22, 17)


# --- caching -------------------------------------------------------------------------------------


def test_holidays_loaded_once_per_year(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = workcal.holidays.country_holidays

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("years"))
        return real(*args, **kwargs)

    monkeypatch.setattr(workcal.holidays, "country_holidays", counting)
    c = WorkCalendar()
    for _ in range(50):
        c.add_working_days(vn(2025, 12, 20, 10), 10)
    assert sorted(calls) == [2025, 2026]


# --- calendar.json -------------------------------------------------------------------------------


def write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "calendar.json"
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


def test_from_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "_comment": "check every year",
            "days_off": [{"date": "2025-03-12", "note": "Bầu cử"}],
            "makeup_workdays": [{"date": "2025-04-26", "note": "làm bù"}],
        },
    )
    c = WorkCalendar.from_file(path)
    assert not c.is_working_day(date(2025, 3, 12))
    assert c.holiday_name(date(2025, 3, 12)) == "Bầu cử"
    assert c.is_working_day(APR_26_2025)


def test_from_file_passes_kwargs_and_accepts_str(tmp_path: Path) -> None:
    path = write(tmp_path, {"days_off": [{"date": "2025-03-12"}]})
    c = WorkCalendar.from_file(str(path), use_public_holidays=False)
    assert c.is_working_day(date(2025, 1, 1))
    assert not c.is_working_day(date(2025, 3, 12))


def test_from_file_empty_object(tmp_path: Path) -> None:
    c = WorkCalendar.from_file(write(tmp_path, {}))
    assert not c.is_working_day(date(2025, 1, 1))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ([], "top level"),
        ({"days-off": []}, "days-off"),
        ({"days_off": {"date": "2025-05-02"}}, "must be a list"),
        ({"days_off": ["2025-05-02"]}, "days_off[0]"),
        ({"days_off": [{"note": "no date"}]}, "days_off[0]"),
        ({"days_off": [{"date": "2025-13-01"}]}, "2025-13-01"),
        ({"days_off": [{"date": "02/05/2025"}]}, "YYYY-MM-DD"),
        ({"days_off": [{"date": "20250502"}]}, "YYYY-MM-DD"),
        ({"makeup_workdays": [{"date": "2025-04-26", "note": 5}]}, "makeup_workdays[0]"),
        (
            {"days_off": [{"date": "2025-05-02"}, {"date": "2025-05-02"}]},
            "days_off[1]",
        ),
        (
            {"days_off": [{"date": "2025-04-26"}], "makeup_workdays": [{"date": "2025-04-26"}]},
            "both",
        ),
    ],
)
def test_from_file_rejects_malformed(tmp_path: Path, content: Any, fragment: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ValueError) as info:
        WorkCalendar.from_file(path)
    message = str(info.value)
    assert str(path) in message
    assert fragment in message


def test_add_working_time_resumes_a_stopped_clock_across_a_weekend() -> None:
    cal = WorkCalendar(use_public_holidays=False)
    friday_16h = datetime(2025, 3, 14, 16, 0, tzinfo=VN_TZ)
    # 1 h left on Friday, then 3 h on Monday morning: 07:00 + 3 h = 10:00.
    resumed = cal.add_working_time(friday_16h, timedelta(hours=4))
    assert resumed == datetime(2025, 3, 17, 10, 0, tzinfo=VN_TZ)
    assert cal.add_working_time(friday_16h, timedelta(hours=1)) == datetime(
        2025, 3, 14, 17, 0, tzinfo=VN_TZ
    )
    assert cal.add_working_time(friday_16h, timedelta(0)) == friday_16h
