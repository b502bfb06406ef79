"""The processing control slip (Form 05): one row per hand-over, with its mark in working days."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from motcua_kit.workcal import VN_TZ, WorkCalendar
from routing.domain import route as r
from routing.domain.agencies import registry_from_data
from routing.domain.route import Effect, Step
from routing.domain.slip import control_slip

REPO = Path(__file__).resolve().parents[4]
CALENDAR = WorkCalendar.from_file(REPO / "deploy" / "calendar.json")
REGISTRY = registry_from_data(
    json.loads((REPO / "services/routing/routing/data/agencies.json").read_text("utf-8"))
)
BUNDLE = next(
    p
    for p in json.loads((REPO / "services/intake/intake/data/procedures.json").read_text("utf-8"))[
        "procedures"
    ]
    if p["code"] == "2.000986"
)
UNIT = "000.00.08.H38"
CODE = f"{UNIT}-250707-0001"
DESK = {"id": "o-desk", "name": "Nguyễn Thị Lan", "unit": UNIT}
CIVIL = {"id": "o-tp", "name": "Trần Văn Hùng", "unit": UNIT}
POLICE = {"id": "ca-01", "name": "Lê Văn Nam", "unit": "CA.H38.08"}
BHXH = {"id": "bh-01", "name": "Phạm Thị Hoa", "unit": "BHXH.H38"}


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


class Route:
    """The birth bundle, moved step by step as the service would."""

    def __init__(self) -> None:
        self.steps = r.plan_route(CODE, UNIT, BUNDLE["route"], REGISTRY)
        self.archive: list[Step] = []

    def apply(self, *effects: Effect) -> None:
        changed = {e.step.id: e.step for e in effects}
        self.archive += [e.archived for e in effects if e.archived is not None]
        self.steps = [changed.get(s.id, s) for s in self.steps]

    def get(self, suffix: str) -> Step:
        return next(s for s in self.steps if s.id == f"{CODE}/{suffix}")

    def assign(self, now: datetime, by: dict[str, str]) -> None:
        self.apply(*r.assign_ready(self.steps, now, CALENDAR, by))

    def finish(self, suffix: str, accepted: datetime, done: datetime, by: dict[str, str]) -> None:
        self.apply(r.accept(self.get(suffix), accepted, by))
        self.apply(r.complete(self.get(suffix), done, by, f"KQ-{suffix}", None))


def test_the_slip_marks_each_hand_over_early_on_time_or_late() -> None:
    route = Route()
    route.assign(vn(2025, 7, 7, 10, 0), DESK)  # due Tue 8 July 10:00
    route.finish("1.1", vn(2025, 7, 7, 10, 30), vn(2025, 7, 7, 16, 0), CIVIL)
    route.assign(vn(2025, 7, 7, 16, 0), CIVIL)  # both due Wed 9 July 16:00
    route.finish("2.1", vn(2025, 7, 8, 8, 0), vn(2025, 7, 9, 15, 0), POLICE)
    route.apply(r.accept(route.get("2.2"), vn(2025, 7, 8, 9, 0), BHXH))

    rows = control_slip(route.steps, REGISTRY, CALENDAR, now=vn(2025, 7, 10, 9, 0))

    assert [(row.step_id, row.agency_name, row.timeliness) for row in rows] == [
        (f"{CODE}/1.1", "Ủy ban nhân dân xã Thạch Bình", "early"),
        (f"{CODE}/2.1", "Công an xã Thạch Bình", "on_time"),
        (f"{CODE}/2.2", "Bảo hiểm xã hội tỉnh Hà Tĩnh", "late"),  # open and past due
    ]
    first, police, bhxh = rows
    assert (first.handed_at, first.handed_by) == (vn(2025, 7, 7, 10, 0), DESK)
    assert (first.received_at, first.received_by) == (vn(2025, 7, 7, 10, 30), CIVIL)
    assert (first.due_at, first.finished_at) == (vn(2025, 7, 8, 10, 0), vn(2025, 7, 7, 16, 0))
    assert first.working_days_taken == 0.5  # 10:00-11:30 and 13:30-16:00
    assert (first.timeliness_vi, first.status, first.status_vi) == (
        "Trước hạn",
        "completed",
        "Đã hoàn thành",
    )
    assert first.task.startswith("Công chức tư pháp - hộ tịch đăng ký khai sinh")
    assert police.handed_by == CIVIL and police.received_by == POLICE
    assert police.working_days_taken == 1.88  # Mon 16:00 -> Wed 15:00: 1 + 7/8 day
    assert (bhxh.finished_at, bhxh.working_days_taken, bhxh.timeliness_vi) == (
        None,
        None,
        "Quá hạn",
    )


def test_open_and_pending_rows_carry_no_mark_while_on_time() -> None:
    route = Route()
    route.assign(vn(2025, 7, 7, 10, 0), DESK)

    rows = control_slip(route.steps, REGISTRY, CALENDAR, now=vn(2025, 7, 7, 11, 0))

    assert [(row.status, row.timeliness, row.handed_at is None) for row in rows] == [
        ("assigned", None, False),
        ("pending", None, True),
        ("pending", None, True),
    ]


def test_a_step_stopped_for_supplements_is_not_late_while_its_clock_is_stopped() -> None:
    route = Route()
    route.assign(vn(2025, 7, 7, 10, 0), DESK)
    route.apply(r.request_supplement(route.get("1.1"), vn(2025, 7, 7, 14, 0), CALENDAR))

    rows = control_slip(route.steps, REGISTRY, CALENDAR, now=vn(2025, 7, 14, 9, 0))

    assert (rows[0].status, rows[0].timeliness) == ("awaiting_supplement", None)


def test_a_step_across_tet_is_measured_in_working_days() -> None:
    route = Route()
    route.assign(vn(2026, 2, 12, 10, 0), DESK)
    route.finish("1.1", vn(2026, 2, 12, 11, 0), vn(2026, 2, 12, 15, 0), CIVIL)
    route.assign(vn(2026, 2, 13, 10, 0), CIVIL)  # Friday before Tết: due Tue 24 Feb 10:00
    route.finish("2.1", vn(2026, 2, 13, 10, 30), vn(2026, 2, 23, 16, 0), POLICE)
    route.finish("2.2", vn(2026, 2, 13, 11, 0), vn(2026, 2, 25, 8, 0), BHXH)

    rows = control_slip(route.steps, REGISTRY, CALENDAR, now=vn(2026, 2, 26, 9, 0))

    assert [
        (row.step_id[-3:], row.due_at, row.timeliness, row.working_days_taken) for row in rows
    ] == [
        ("1.1", vn(2026, 2, 13, 10, 0), "early", 0.38),  # 3 h of an 8 h day
        ("2.1", vn(2026, 2, 24, 10, 0), "early", 1.5),  # Fri 5 h + Mon 7 h, Tết not counted
        ("2.2", vn(2026, 2, 24, 10, 0), "late", 2.75),  # 5 h + 8 h + 8 h + 1 h
    ]


def test_returned_and_reassigned_hand_overs_keep_their_rows() -> None:
    route = Route()
    route.assign(vn(2025, 7, 7, 10, 0), DESK)
    route.finish("1.1", vn(2025, 7, 7, 10, 30), vn(2025, 7, 7, 16, 0), CIVIL)
    route.assign(vn(2025, 7, 7, 16, 0), CIVIL)
    chief = {"id": "o-chief", "name": "Hoàng Văn Minh", "unit": "BHXH.H38"}
    route.apply(r.reassign(route.get("2.2"), "CA.H38", vn(2025, 7, 8, 8, 0), CALENDAR, chief))
    route.apply(r.accept(route.get("2.1"), vn(2025, 7, 8, 9, 0), POLICE))
    route.apply(
        *r.return_to_previous(
            route.steps, f"{CODE}/2.1", vn(2025, 7, 8, 10, 0), CALENDAR, POLICE, "Sai ngày sinh"
        )
    )

    rows = control_slip(route.steps + route.archive, REGISTRY, CALENDAR, vn(2025, 7, 8, 11, 0))

    assert [(row.step_id[-3:], row.attempt, row.agency_code, row.status) for row in rows] == [
        ("1.1", 1, UNIT, "completed"),
        ("1.1", 2, UNIT, "assigned"),  # re-opened
        ("2.1", 1, "CA.H38.08", "returned"),
        ("2.1", 2, "CA.H38.08", "pending"),
        ("2.2", 1, "BHXH.H38", "reassigned"),
        ("2.2", 2, "CA.H38", "returned"),  # the new holder had it when the file went back
        ("2.2", 3, "CA.H38", "pending"),
    ]
    returned = rows[2]
    assert (returned.finished_at, returned.note, returned.timeliness) == (
        vn(2025, 7, 8, 10, 0),
        "Sai ngày sinh",
        "early",
    )
    assert rows[4].agency_name == "Bảo hiểm xã hội tỉnh Hà Tĩnh"
    assert rows[5].handed_by == chief


def test_an_agency_missing_from_the_registry_is_shown_by_its_code() -> None:
    route = Route()
    gone = [s if s.index == 1 else replace(s, agency_code="OLD.1") for s in route.steps]

    rows = control_slip(gone, REGISTRY, CALENDAR, vn(2025, 7, 7, 9, 0))

    assert rows[2].agency_name == "OLD.1"
