"""reporting's pure domain: what an event says (facts), how counted rows become statistics and
satisfaction reports (statistics), and the 766 index (indices). Concrete values throughout."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from motcua_kit.workcal import WorkCalendar
from reporting.domain import facts, indices, statistics

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CALENDAR = WorkCalendar()  # June 2025 has no public holiday: Monday-Friday, 8 hours a day


def vn(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN)


# --- facts -------------------------------------------------------------------------------------


def test_instant_reads_offsets_and_z_and_nothing():
    """Timestamps with an offset or a Z are instants; a missing one is None."""
    assert facts.instant("2025-06-02T02:00:00Z") == datetime(2025, 6, 2, 2, tzinfo=UTC)
    assert facts.instant("2025-06-02T09:00:00+07:00") == datetime(2025, 6, 2, 2, tzinfo=UTC)
    assert facts.instant(None) is None
    assert facts.instant("") is None


def test_when_prefers_the_datas_own_time():
    """An event happened at its data's `at`; without one, at the envelope's `time`."""
    event = {"time": "2025-06-04T03:00:05Z", "data": {"at": "2025-06-04T03:00:00+00:00"}}
    assert facts.when(event) == datetime(2025, 6, 4, 3, tzinfo=UTC)
    assert facts.when({"time": "2025-06-04T03:00:05Z", "data": {}}) == datetime(
        2025, 6, 4, 3, 0, 5, tzinfo=UTC
    )


def test_days_are_vietnams():
    """06:30 in Vietnam on 1 July is 23:30 UTC on 30 June, and counts on 1 July."""
    assert facts.local_day(datetime(2025, 6, 30, 23, 30, tzinfo=UTC)) == date(2025, 7, 1)
    assert facts.local_day(datetime(2025, 6, 30, 16, 59, tzinfo=UTC)) == date(2025, 6, 30)


def test_the_unit_is_the_codes_first_part():
    """`<unit>-YYMMDD-NNNN`, whatever hyphens the unit has."""
    assert facts.unit_of("000.00.08.H38-250702-0001") == "000.00.08.H38"
    assert facts.unit_of("UBND-XA-250702-0012") == "UBND-XA"


def test_received_reads_a_dossier_received_event():
    """Every fact reports need from `dossier.received`."""
    data = {
        "code": "000.00.08.H38-250702-0001",
        "unit": "000.00.08.H38",
        "procedure": {
            "code": "2.000986",
            "name": {"vi": "Liên thông khai sinh", "en": "Birth bundle"},
            "field": "ho-tich",
            "field_name": {"vi": "Hộ tịch", "en": "Civil status"},
        },
        "channel": "online",
        "return_method": "post",
        "received_at": "2025-07-02T09:15:04+07:00",
        "due_at": "2025-07-07T09:15:04+07:00",
    }
    assert facts.received(data) == facts.Received(
        code="000.00.08.H38-250702-0001",
        unit="000.00.08.H38",
        procedure_code="2.000986",
        procedure_name="Liên thông khai sinh",
        field="ho-tich",
        field_name={"vi": "Hộ tịch", "en": "Civil status"},
        channel="online",
        return_method="post",
        received_at=vn("2025-07-02 09:15:04"),
        due_at=vn("2025-07-07 09:15:04"),
    )


def test_received_fills_what_an_older_event_lacks():
    """No unit: the code's; no channel or return method: the desk; a plain-text name; no
    field name."""
    r = facts.received(
        {
            "code": "000.00.08.H38-250702-0002",
            "procedure": {"code": "1.001193", "name": "Đăng ký khai sinh", "field": "ho-tich"},
            "received_at": "2025-07-02T02:00:00Z",
            "due_at": "2025-07-02T10:00:00Z",
        }
    )
    assert (r.unit, r.channel, r.return_method, r.procedure_name, r.field_name) == (
        "000.00.08.H38",
        "desk",
        "desk",
        "Đăng ký khai sinh",
        {},
    )


def test_processing_days_are_working_days_less_the_pauses():
    """Mon 2/6 09:00 to Wed 4/6 10:00: 6 + 8 + 3 = 17 office hours = 2.125 working days."""
    received, done = vn("2025-06-02 09:00"), vn("2025-06-04 10:00")
    assert facts.processing_days(CALENDAR, received, done, 0) == 2.125
    assert facts.processing_days(CALENDAR, received, done, 0.875) == 1.25
    assert facts.processing_days(CALENDAR, received, done, 3) == 0.0  # never below zero
    # Over a weekend: Fri 6/6 16:00 to Mon 9/6 08:00 is 2 office hours.
    assert (
        facts.processing_days(CALENDAR, vn("2025-06-06 16:00"), vn("2025-06-09 08:00"), 0) == 0.25
    )
    # Rounded to 4 decimals: one office minute is 1/480 of a day.
    assert (
        facts.processing_days(CALENDAR, vn("2025-06-02 09:00"), vn("2025-06-02 09:01"), 0) == 0.0021
    )


@pytest.mark.parametrize(
    ("given", "counted"),
    [
        ("early", "early"),
        ("on_time", "on_time"),
        ("late", "late"),
        (None, "on_time"),
        ("soon", "on_time"),
    ],
)
def test_timeliness_is_one_of_three(given, counted):
    """A missing or unknown mark counts as on time."""
    assert facts.timeliness(given) == counted


# --- statistics --------------------------------------------------------------------------------


def test_statistics_per_field_and_in_total():
    """Daily rows and still-open dossiers become counts, totals, rates and averages per field."""
    daily = [
        {
            "field": "ho-tich",
            "carried_over": 1,
            "received": 5,
            "received_online": 2,
            "completed_early": 1,
            "completed_on_time": 2,
            "completed_late": 1,
            "processing_days": 12.4375,
            "electronic_results": 2,
            "returned": 2,
        },
        {
            "field": "chung-thuc",
            "received": 4,
            "received_online": 3,
            "supplement_requested": 2,
            "refused": 1,
            "withdrawn": 1,
            "completed_on_time": 1,
            "processing_days": 0.5625,
            "electronic_results": 1,
        },
    ]
    still_open = [
        {"field": "ho-tich", "in_progress": 2, "awaiting_supplement": 0, "in_progress_overdue": 1},
        {
            "field": "chung-thuc",
            "in_progress": 1,
            "awaiting_supplement": 1,
            "in_progress_overdue": 0,
        },
        {"field": "cu-tru", "in_progress": 1, "awaiting_supplement": 0, "in_progress_overdue": 1},
    ]
    report = statistics.statistics(daily, still_open)
    zero = dict.fromkeys(statistics.COUNTED, 0)
    assert report["by_field"] == [
        {
            "field": "chung-thuc",
            **zero,
            "received": 4,
            "received_online": 3,
            "supplement_requested": 2,
            "refused": 1,
            "withdrawn": 1,
            "completed_on_time": 1,
            "electronic_results": 1,
            "in_progress": 1,
            "awaiting_supplement": 1,
            "total": 4,
            "completed": 1,
            "in_progress_on_time": 0,
            "on_time_rate": 1.0,
            "average_processing_days": 0.56,
        },
        {
            "field": "cu-tru",  # only carried-over work still open: no rate, no average
            **zero,
            "in_progress": 1,
            "in_progress_overdue": 1,
            "total": 0,
            "completed": 0,
            "in_progress_on_time": 0,
            "on_time_rate": None,
            "average_processing_days": None,
        },
        {
            "field": "ho-tich",
            **zero,
            "carried_over": 1,
            "received": 5,
            "received_online": 2,
            "completed_early": 1,
            "completed_on_time": 2,
            "completed_late": 1,
            "electronic_results": 2,
            "returned": 2,
            "in_progress": 2,
            "in_progress_overdue": 1,
            "total": 6,
            "completed": 4,
            "in_progress_on_time": 1,
            "on_time_rate": 0.75,
            "average_processing_days": 3.11,  # 12.4375 / 4 = 3.109375
        },
    ]
    assert report["totals"] == {
        **zero,
        "carried_over": 1,
        "received": 9,
        "received_online": 5,
        "supplement_requested": 2,
        "refused": 1,
        "withdrawn": 1,
        "completed_early": 1,
        "completed_on_time": 3,
        "completed_late": 1,
        "electronic_results": 3,
        "returned": 2,
        "in_progress": 4,
        "awaiting_supplement": 1,
        "in_progress_overdue": 2,
        "total": 10,
        "completed": 5,
        "in_progress_on_time": 1,
        "on_time_rate": 0.8,
        "average_processing_days": 2.6,  # 13 / 5
    }


def test_statistics_of_nothing():
    """No rows: no fields, zero totals, no rate and no average (never a division by zero)."""
    report = statistics.statistics([], [])
    assert report["by_field"] == []
    assert report["totals"]["total"] == 0
    assert report["totals"]["on_time_rate"] is None
    assert report["totals"]["average_processing_days"] is None


def test_agency_rates():
    """Steps finished early or on time over steps finished, per agency; none finished: None."""
    rows: list[dict[str, Any]] = [
        {"agency": "000.00.08.H38", "early": 1, "on_time": 2, "late": 1},
        {"agency": "CA.H38.08", "early": 1, "on_time": 1, "late": 1},
        {"agency": "BHXH.H38", "early": None, "on_time": None, "late": None},
    ]
    assert statistics.agency_rates(rows) == [
        {
            "agency": "000.00.08.H38",
            "completed": 4,
            "early": 1,
            "on_time": 2,
            "late": 1,
            "on_time_rate": 0.75,
        },
        {
            "agency": "CA.H38.08",
            "completed": 3,
            "early": 1,
            "on_time": 1,
            "late": 1,
            "on_time_rate": 0.6667,
        },
        {
            "agency": "BHXH.H38",
            "completed": 0,
            "early": 0,
            "on_time": 0,
            "late": 0,
            "on_time_rate": None,
        },
    ]


def counted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What queries.rating_counts answers for these evaluations: answers per scope, criterion, level."""
    from collections import Counter

    tally: Counter[tuple[str, str, str, str]] = Counter()
    for row in rows:
        for criterion, level in (row["ratings"] or {}).items():
            tally["all", "", criterion, level] += 1
            tally["unit", row["unit"], criterion, level] += 1
            for agency in row["agencies"]:
                tally["agency", agency, criterion, level] += 1
    return [
        {"scope": scope, "key": key, "criterion": c, "level": lv, "n": n}
        for (scope, key, c, lv), n in tally.items()
    ]


def test_satisfaction_counts_each_criterion_per_unit_and_agency():
    """Known criteria and levels only; the satisfied rate is (very satisfied + satisfied) over
    answers; an evaluation counts for every agency that held a step of its dossier."""
    rows: list[dict[str, Any]] = [
        {
            "unit": "U1",
            "agencies": ["U1", "CA"],
            "ratings": {"overall": "very_satisfied", "on_time": "satisfied"},
        },
        {
            "unit": "U1",
            "agencies": ["U1"],
            "ratings": {"overall": "dissatisfied", "mood": "satisfied"},
        },
        {
            "unit": "U2",
            "agencies": [],
            "ratings": {"overall": "excellent", "on_time": "dissatisfied"},
        },
        {"unit": "U2", "agencies": [], "ratings": None},
    ]
    report = statistics.satisfaction(counted(rows), len(rows), ("overall", "on_time"))

    def level(very: int, satisfied: int, dissatisfied: int, rate: float | None) -> dict:
        answers = very + satisfied + dissatisfied
        return {
            "very_satisfied": very,
            "satisfied": satisfied,
            "dissatisfied": dissatisfied,
            "answers": answers,
            "satisfied_rate": rate,
        }

    assert report == {
        "evaluations": 4,
        "criteria": {"overall": level(1, 0, 1, 0.5), "on_time": level(0, 1, 1, 0.5)},
        "satisfied_rate": 0.5,
        "by_unit": [
            {
                "unit": "U1",
                "criteria": {"overall": level(1, 0, 1, 0.5), "on_time": level(0, 1, 0, 1.0)},
                "satisfied_rate": 0.5,
            },
            {
                "unit": "U2",
                "criteria": {"overall": level(0, 0, 0, None), "on_time": level(0, 0, 1, 0.0)},
                "satisfied_rate": None,
            },
        ],
        "by_agency": [
            {
                "agency": "CA",
                "criteria": {"overall": level(1, 0, 0, 1.0), "on_time": level(0, 1, 0, 1.0)},
                "satisfied_rate": 1.0,
            },
            {
                "agency": "U1",
                "criteria": {"overall": level(1, 0, 1, 0.5), "on_time": level(0, 1, 0, 1.0)},
                "satisfied_rate": 0.5,
            },
        ],
    }


def test_satisfaction_without_an_overall_criterion_has_no_rate():
    assert statistics.satisfaction([], 0, ("on_time",))["satisfied_rate"] is None


def test_overall_distribution_from_counts():
    rows = [
        {"level": "very_satisfied", "n": 2},
        {"level": "dissatisfied", "n": 1},
        {"level": None, "n": 4},  # evaluations without an overall rating
    ]
    assert statistics.overall(rows) == {
        "very_satisfied": 2,
        "satisfied": 0,
        "dissatisfied": 1,
        "answers": 3,
        "satisfied_rate": 0.6667,
    }


def test_weekly_on_time_groups_by_iso_week():
    """Monday-first weeks: Sunday 8/6 belongs with Monday 2/6, Monday 9/6 starts a new week."""
    rows = [
        {"day": date(2025, 6, 2), "early": 1, "on_time": 0, "late": 0, "received": 2},
        {"day": date(2025, 6, 8), "early": 0, "on_time": 1, "late": 1, "received": 1},
        {"day": date(2025, 6, 9), "early": 0, "on_time": 0, "late": 0, "received": 3},
    ]
    assert statistics.weekly_on_time(rows) == [
        {"week": "2025-06-02", "received": 3, "completed": 3, "on_time_rate": 0.6667},
        {"week": "2025-06-09", "received": 3, "completed": 0, "on_time_rate": None},
    ]


# --- indices -----------------------------------------------------------------------------------

COUNTS = indices.Counts(
    finished=5,
    finished_on_time=4,
    evaluations=3,
    satisfied=2,
    received=9,
    received_online=5,
    paid_known=0,
    paid_online=0,
    results=5,
    electronic_results=3,
)


def test_ratios_are_none_without_data():
    """A measure with nothing to divide by has no ratio, never zero."""
    assert indices.ratios(COUNTS) == {
        "on_time": 0.8,
        "satisfaction": 2 / 3,
        "online_dossiers": 5 / 9,
        "online_payments": None,
        "electronic_results": 0.6,
    }


def test_a_score_is_the_ratio_against_its_target_capped_at_full_points():
    online = next(m for m in indices.MEASURES if m.key == "online_dossiers")  # 11 points, 80 %
    assert indices.score(online, 0.4) == 5.5
    assert indices.score(online, 0.8) == 11.0
    assert indices.score(online, 0.95) == 11.0
    assert indices.score(online, 0.0) == 0.0
    assert indices.score(online, None) is None


def test_the_index_scores_what_it_can_and_totals_it():
    """16 + 12 + 7.64 + 13.2 = 48.84 of 71: online payments (unknown) is neither scored nor
    counted in the maximum."""
    result: dict[str, Any] = indices.index(COUNTS)
    assert [
        (m["key"], m["ratio"], m["target"], m["max_points"], m["score"]) for m in result["measures"]
    ] == [
        ("on_time", 0.8, 1.0, 20, 16.0),
        ("satisfaction", 0.6667, 1.0, 18, 12.0),
        ("online_dossiers", 0.5556, 0.8, 11, 7.64),
        ("online_payments", None, 0.8, 11, None),
        ("electronic_results", 0.6, 1.0, 22, 13.2),
    ]
    assert result["score"] == 48.84
    assert result["max_points"] == 71
    assert result["measures"][0]["name"] == {
        "vi": "Tỷ lệ hồ sơ giải quyết đúng hạn",
        "en": "Dossiers finished on time",
    }


def test_the_index_of_an_empty_period():
    """Nothing received, finished or rated: no measure scored, a total of 0 out of 0."""
    empty = indices.Counts(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    result: dict[str, Any] = indices.index(empty)
    assert {m["key"]: (m["ratio"], m["score"]) for m in result["measures"]} == dict.fromkeys(
        ("on_time", "satisfaction", "online_dossiers", "online_payments", "electronic_results"),
        (None, None),
    )
    assert (result["score"], result["max_points"]) == (0, 0)
