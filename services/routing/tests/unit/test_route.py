"""A dossier's route as pure transitions: plan, parallel join, stopped clock, forbidden moves."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, time
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from motcua_kit.errors import ApiError
from motcua_kit.workcal import VN_TZ, WorkCalendar
from routing.domain import route as r
from routing.domain.agencies import UnknownAgency, registry_from_data
from routing.domain.route import (
    ACCEPTED,
    ASSIGNED,
    AWAITING_SUPPLEMENT,
    CANCELLED,
    COMPLETED,
    PENDING,
    REASSIGNED,
    REFUSED,
    RETURNED,
    STATUS_VI,
    Effect,
    Step,
)

REPO = Path(__file__).resolve().parents[4]
CALENDAR = WorkCalendar.from_file(REPO / "deploy" / "calendar.json")
REGISTRY = registry_from_data(
    json.loads((REPO / "services/routing/routing/data/agencies.json").read_text("utf-8"))
)
CATALOGUE = json.loads((REPO / "services/intake/intake/data/procedures.json").read_text("utf-8"))
UNIT = "000.00.08.H38"
CODE = f"{UNIT}-250707-0001"
DESK = {"id": "o-desk", "name": "Nguyễn Thị Lan", "unit": UNIT}
CIVIL = {"id": "o-tp", "name": "Trần Văn Hùng", "unit": UNIT}
POLICE = {"id": "ca-01", "name": "Lê Văn Nam", "unit": "CA.H38.08"}
BHXH = {"id": "bh-01", "name": "Phạm Thị Hoa", "unit": "BHXH.H38"}
CHIEF = {"id": "o-chief", "name": "Hoàng Văn Minh", "unit": UNIT}


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def procedure(code: str) -> dict[str, Any]:
    return next(p for p in CATALOGUE["procedures"] if p["code"] == code)


def birth_bundle() -> list[Step]:
    return r.plan_route(CODE, UNIT, procedure("2.000986")["route"], REGISTRY)


def apply(steps: list[Step], effects: list[Effect]) -> list[Step]:
    changed = {e.step.id: e.step for e in effects}
    return [changed.get(s.id, s) for s in steps]


def put(steps: list[Step], step: Step) -> list[Step]:
    return [step if s.id == step.id else s for s in steps]


def by_id(steps: list[Step], suffix: str) -> Step:
    return next(s for s in steps if s.id == f"{CODE}/{suffix}")


# A plain week: Monday 7 July 2025.
MONDAY = vn(2025, 7, 7, 10, 0)


def through_stage_one(at: datetime = MONDAY) -> list[Step]:
    """Stage 1 assigned at ``at``, accepted and completed the same day at 16:00."""
    steps = apply(birth_bundle(), r.assign_ready(birth_bundle(), at, CALENDAR, DESK))
    first = by_id(steps, "1.1")
    first = r.accept(first, at, CIVIL).step
    first = r.complete(first, at.replace(hour=16), CIVIL, "KS-2025-0012", None).step
    return put(steps, first)


# --- planning ----------------------------------------------------------------------------------


def test_the_birth_bundle_plans_a_lead_then_two_parallel_coordinating_steps() -> None:
    steps = birth_bundle()

    assert [(s.id, s.stage, s.index, s.agency_code, s.role, s.days) for s in steps] == [
        (f"{CODE}/1.1", 1, 1, UNIT, "lead", 1),
        (f"{CODE}/2.1", 2, 1, "CA.H38.08", "coordinating", 2),
        (f"{CODE}/2.2", 2, 2, "BHXH.H38", "coordinating", 2),
    ]
    assert {s.status for s in steps} == {PENDING}
    assert {s.dossier_code for s in steps} == {CODE}
    assert steps[1].task_vi == "Đăng ký thường trú cho trẻ"
    assert steps[1].task_en == "Register the child's permanent residence"
    assert all(s.due_at is None and s.attempt == 1 for s in steps)


def test_every_procedure_in_the_catalogue_can_be_planned_for_any_unit() -> None:
    unit = f"T{uuid4().hex[:6]}"
    for entry in CATALOGUE["procedures"]:
        steps = r.plan_route(f"{unit}-250707-0001", unit, entry["route"], REGISTRY)
        expected = sum(len(stage["steps"]) for stage in entry["route"]["stages"])
        assert len(steps) == expected, entry["code"]


def test_planning_names_a_missing_agency_or_a_malformed_route() -> None:
    with pytest.raises(UnknownAgency, match="SO_Y_TE"):
        r.plan_route(CODE, UNIT, {"stages": [{"steps": [_entry("SO_Y_TE")]}]}, REGISTRY)
    with pytest.raises(ValueError, match="stage 1 step 1: role 'boss'"):
        r.plan_route(CODE, UNIT, {"stages": [{"steps": [_entry(role="boss")]}]}, REGISTRY)
    with pytest.raises(ValueError, match="stage 2 needs a non-empty 'steps'"):
        route = {"stages": [{"steps": [_entry()]}, {"steps": []}]}
        r.plan_route(CODE, UNIT, route, REGISTRY)
    assert r.plan_route(CODE, UNIT, {}, REGISTRY) == []


def _entry(kind: str = "UBND_XA", role: str = "lead") -> dict[str, Any]:
    return {"agency_kind": kind, "role": role, "days": 1, "task": {"vi": "Xử lý", "en": "Do"}}


# --- assignment and the parallel join ----------------------------------------------------------


def test_stage_two_is_assigned_only_when_stage_one_is_complete() -> None:
    steps = birth_bundle()
    first = r.assign_ready(steps, MONDAY, CALENDAR, DESK)

    assert [(e.step.id, e.event_type) for e in first] == [(f"{CODE}/1.1", "step.assigned")]
    assigned = first[0].step
    assert (assigned.status, assigned.assigned_at) == (ASSIGNED, MONDAY)
    assert assigned.due_at == vn(2025, 7, 8, 10, 0)  # one working day
    assert assigned.handed_by == DESK
    assert first[0].data == {"actor": DESK, "days": 1}

    steps = apply(steps, first)
    assert r.assign_ready(steps, MONDAY, CALENDAR, DESK) == []  # stage 1 still open
    steps = put(steps, r.accept(by_id(steps, "1.1"), MONDAY, CIVIL).step)
    assert r.assign_ready(steps, MONDAY, CALENDAR, DESK) == []

    done = vn(2025, 7, 7, 16, 0)
    steps = put(steps, r.complete(by_id(steps, "1.1"), done, CIVIL, "KS-12", None).step)
    second = r.assign_ready(steps, done, CALENDAR, CIVIL)

    assert [e.step.id for e in second] == [f"{CODE}/2.1", f"{CODE}/2.2"]
    assert {e.step.due_at for e in second} == {vn(2025, 7, 9, 16, 0)}  # two working days
    assert {e.step.agency_code for e in second} == {"CA.H38.08", "BHXH.H38"}


def test_the_route_completes_only_when_both_parallel_steps_complete() -> None:
    steps = through_stage_one()
    steps = apply(steps, r.assign_ready(steps, vn(2025, 7, 7, 16, 0), CALENDAR, CIVIL))
    assert not r.route_complete(steps)
    assert [s.id for s in r.route_open_steps(steps)] == [f"{CODE}/2.1", f"{CODE}/2.2"]

    police = r.accept(by_id(steps, "2.1"), vn(2025, 7, 8, 8, 0), POLICE).step
    police = r.complete(police, vn(2025, 7, 8, 9, 0), POLICE, "TT-991", "Đã đăng ký").step
    steps = put(steps, police)

    assert not r.route_complete(steps)
    assert r.assign_ready(steps, vn(2025, 7, 8, 9, 0), CALENDAR, POLICE) == []
    assert [s.id for s in r.route_open_steps(steps)] == [f"{CODE}/2.2"]

    bhxh = r.accept(by_id(steps, "2.2"), vn(2025, 7, 8, 8, 0), BHXH).step
    completed = r.complete(bhxh, vn(2025, 7, 9, 16, 0), BHXH, "BHYT-42", None)
    steps = put(steps, completed.step)

    assert r.route_complete(steps)
    assert r.route_open_steps(steps) == []
    assert completed.data == {
        "actor": BHXH,
        "result_reference": "BHYT-42",
        "note": None,
        "timeliness": "on_time",
    }


def test_a_later_stage_waits_for_every_step_of_a_parallel_group() -> None:
    three = {
        "stages": [
            {"steps": [_entry("UBND_XA")]},
            {"steps": [_entry("CONG_AN_XA", "coordinating"), _entry("BHXH", "coordinating")]},
            {"steps": [_entry("UBND_XA")]},
        ]
    }
    # Stage 1 done (the same first step as the birth bundle's), stage 2 assigned.
    steps = put(r.plan_route(CODE, UNIT, three, REGISTRY), by_id(through_stage_one(), "1.1"))
    steps = apply(steps, r.assign_ready(steps, AT, CALENDAR, CIVIL))
    police = r.accept(by_id(steps, "2.1"), AT, POLICE).step
    steps = put(steps, r.complete(police, AT, POLICE, "TT-1", None).step)

    assert r.assign_ready(steps, AT, CALENDAR, POLICE) == []  # 2.2 still open

    bhxh = r.accept(by_id(steps, "2.2"), AT, BHXH).step
    steps = put(steps, r.complete(bhxh, AT, BHXH, "BHYT-1", None).step)
    third = r.assign_ready(steps, AT, CALENDAR, BHXH)

    assert [e.step.id for e in third] == [f"{CODE}/3.1"]
    assert not r.route_complete(apply(steps, third))


def test_a_zero_day_step_is_due_at_the_close_of_the_day_with_the_cutoff_applied() -> None:
    steps = r.plan_route(CODE, UNIT, procedure("1.001193")["route"], REGISTRY)

    morning = r.assign_ready(steps, vn(2025, 7, 7, 9, 0), CALENDAR, DESK)[0].step
    late = r.assign_ready(steps, vn(2025, 7, 7, 15, 30), CALENDAR, DESK, cutoff=time(15, 0))

    assert morning.due_at == vn(2025, 7, 7, 17, 0)
    assert late[0].step.due_at == vn(2025, 7, 8, 17, 0)


# --- the stopped clock -------------------------------------------------------------------------


def test_the_step_clock_stops_for_supplements_across_a_weekend() -> None:
    # Assigned Thursday 10 July 10:00 for 2 days: due Monday 14 July 10:00.
    thursday = vn(2025, 7, 10, 10, 0)
    step = r.assign_ready(birth_bundle(), thursday, CALENDAR, DESK)[0].step
    step = replace(step, days=2, due_at=CALENDAR.add_working_days(thursday, 2))
    assert step.due_at == vn(2025, 7, 14, 10, 0)
    step = r.accept(step, thursday, CIVIL).step

    friday = vn(2025, 7, 11, 10, 0)
    asked = r.request_supplement(step, friday, CALENDAR)

    assert asked.event_type == "step.supplement_requested"
    assert (asked.step.status, asked.step.paused_at) == (AWAITING_SUPPLEMENT, friday)
    assert asked.step.remaining_seconds == pytest.approx(8 * 3600)  # one working day left
    assert asked.data == {"remaining_working_days": 1.0}

    tuesday = vn(2025, 7, 15, 14, 0)
    back = r.resume(asked.step, tuesday, CALENDAR)

    assert back.event_type == "step.resumed"
    assert back.step.status == ACCEPTED  # it had been accepted before
    assert back.step.due_at == vn(2025, 7, 16, 14, 0)
    assert (back.step.paused_at, back.step.remaining_seconds) == (None, None)
    # Friday 10:00 -> Tuesday 14:00: 5 h + 8 h + 5 h of office time.
    assert back.data == {"paused_working_days": 2.25}


def test_a_step_never_accepted_resumes_as_assigned_and_an_overdue_one_with_no_time() -> None:
    step = r.assign_ready(birth_bundle(), MONDAY, CALENDAR, DESK)[0].step  # due Tue 10:00
    officer = {"id": "o-tp", "name": "Trần Văn Hùng", "unit": UNIT}

    asked = r.request_supplement(step, vn(2025, 7, 9, 9, 0), CALENDAR, officer)
    back = r.resume(asked.step, vn(2025, 7, 12, 9, 0), CALENDAR)  # a Saturday

    assert asked.step.remaining_seconds == 0.0
    assert asked.data["actor"] == officer
    assert back.step.status == ASSIGNED
    assert back.step.due_at == vn(2025, 7, 14, 7, 0)  # due when the office opens


# --- every forbidden transition ----------------------------------------------------------------


def step_in(status: str) -> list[Step]:
    """The birth bundle with stage 1 complete and step 2.1 in ``status``."""
    steps = through_stage_one()
    steps = apply(steps, r.assign_ready(steps, vn(2025, 7, 7, 16, 0), CALENDAR, CIVIL))
    police = by_id(steps, "2.1")
    if status in (ACCEPTED, AWAITING_SUPPLEMENT, COMPLETED):
        police = replace(police, accepted_at=vn(2025, 7, 8, 8, 0), received_by=POLICE)
    if status == AWAITING_SUPPLEMENT:
        police = replace(police, paused_at=vn(2025, 7, 8, 9, 0), remaining_seconds=8 * 3600.0)
    if status == PENDING:
        police = replace(police, assigned_at=None, due_at=None, handed_by=None)
    return put(steps, replace(police, status=status))


AT = vn(2025, 7, 8, 10, 0)
Call = Callable[[list[Step]], Effect | list[Effect]]
ACTIONS: dict[str, tuple[Call, tuple[str, ...], str]] = {
    # name: (call on the steps, statuses of 2.1 it is allowed from, resulting status of 2.1)
    "accept": (lambda ss: r.accept(by_id(ss, "2.1"), AT, POLICE), (ASSIGNED,), ACCEPTED),
    "complete": (
        lambda ss: r.complete(by_id(ss, "2.1"), AT, POLICE, "TT-1", None),
        (ACCEPTED,),
        COMPLETED,
    ),
    "request_supplement": (
        lambda ss: r.request_supplement(by_id(ss, "2.1"), AT, CALENDAR),
        (ASSIGNED, ACCEPTED),
        AWAITING_SUPPLEMENT,
    ),
    "resume": (lambda ss: r.resume(by_id(ss, "2.1"), AT, CALENDAR), (AWAITING_SUPPLEMENT,), ""),
    "refuse": (
        lambda ss: r.refuse(by_id(ss, "2.1"), AT, POLICE, "Không đủ điều kiện"),
        (ASSIGNED, ACCEPTED, AWAITING_SUPPLEMENT),
        REFUSED,
    ),
    "reassign": (
        lambda ss: r.reassign(by_id(ss, "2.1"), "CA.H38", AT, CALENDAR, CHIEF),
        (ASSIGNED, ACCEPTED),
        ASSIGNED,
    ),
    "return_to_previous": (
        lambda ss: r.return_to_previous(ss, f"{CODE}/2.1", AT, CALENDAR, POLICE, "Sai họ tên"),
        (ASSIGNED, ACCEPTED),
        PENDING,
    ),
}
CASES = [(name, status) for name in ACTIONS for status in STATUS_VI]


@pytest.mark.parametrize(("name", "status"), CASES, ids=[f"{n}-from-{s}" for n, s in CASES])
def test_step_actions_from_every_status(name: str, status: str) -> None:
    call, allowed, result = ACTIONS[name]
    steps = step_in(status)

    if status in allowed:
        outcome = call(steps)
        effects = outcome if isinstance(outcome, list) else [outcome]
        after = next(e.step for e in effects if e.step.id == f"{CODE}/2.1")
        assert after.status == (result or ACCEPTED)
        assert effects[0].event_type in r.EVENT_TYPES
    else:
        with pytest.raises(ApiError) as raised:
            call(steps)
        assert (raised.value.status, raised.value.code) == (409, "invalid_step_status")
        assert raised.value.extra == {"status": status}
        assert STATUS_VI[status] in raised.value.message


def test_completing_needs_a_result_reference_and_refusing_a_reason() -> None:
    accepted = by_id(step_in(ACCEPTED), "2.1")

    with pytest.raises(ApiError) as no_reference:
        r.complete(accepted, AT, POLICE, "  ", None)
    with pytest.raises(ApiError) as no_reason:
        r.refuse(accepted, AT, POLICE, "")

    assert (no_reference.value.status, no_reference.value.code) == (
        422,
        "result_reference_required",
    )
    assert (no_reason.value.status, no_reason.value.code) == (422, "reason_required")


# --- refusal, reassignment, return -------------------------------------------------------------


def test_a_refusal_ends_the_route_and_cancels_the_other_steps() -> None:
    steps = step_in(ACCEPTED)
    refused = r.refuse(by_id(steps, "2.1"), AT, POLICE, "Địa chỉ thường trú không hợp lệ")
    steps = put(steps, refused.step)

    assert (refused.step.status, refused.step.completed_at) == (REFUSED, AT)
    assert refused.data == {"actor": POLICE, "reason": "Địa chỉ thường trú không hợp lệ"}
    assert r.assign_ready(steps, AT, CALENDAR, POLICE) == []

    cancelled = r.cancel_all(steps, AT)

    assert [(s.id, s.status, s.completed_at) for s in cancelled] == [
        (f"{CODE}/2.2", CANCELLED, AT)  # 1.1 completed and 2.1 refused stay as they are
    ]
    assert not r.route_complete(put(steps, cancelled[0]))


def test_cancelling_a_fresh_route_leaves_pending_steps_without_times() -> None:
    cancelled = r.cancel_all(birth_bundle(), AT)

    assert [(s.status, s.completed_at) for s in cancelled] == [(CANCELLED, None)] * 3


def test_reassignment_keeps_the_due_instant_and_starts_a_new_hand_over() -> None:
    accepted = by_id(step_in(ACCEPTED), "2.1")

    moved = r.reassign(accepted, "CA.H38", AT, CALENDAR, CHIEF, "Cần Công an tỉnh xác minh")

    assert moved.event_type == "step.reassigned"
    assert moved.step.agency_code == "CA.H38"
    assert moved.step.due_at == accepted.due_at == vn(2025, 7, 9, 16, 0)
    assert (moved.step.status, moved.step.accepted_at, moved.step.received_by) == (
        ASSIGNED,
        None,
        None,
    )
    assert (moved.step.assigned_at, moved.step.handed_by, moved.step.attempt) == (AT, CHIEF, 2)
    assert moved.archived is not None
    assert (moved.archived.status, moved.archived.agency_code, moved.archived.attempt) == (
        REASSIGNED,
        "CA.H38.08",
        1,
    )
    assert moved.data["from_agency"] == "CA.H38.08"

    with pytest.raises(ApiError) as same:
        r.reassign(moved.step, "CA.H38", AT, CALENDAR, CHIEF)
    assert (same.value.status, same.value.code) == (409, "same_agency")


def test_returning_to_the_previous_step_reopens_stage_one_as_attempt_two() -> None:
    steps = step_in(ACCEPTED)  # 2.1 accepted by the police; 2.2 assigned to BHXH
    returned_at = vn(2025, 7, 8, 10, 0)

    effects = r.return_to_previous(
        steps, f"{CODE}/2.1", returned_at, CALENDAR, POLICE, "Sai ngày sinh trên Giấy khai sinh"
    )

    assert [(e.step.id, e.event_type, e.step.status, e.step.attempt) for e in effects] == [
        (f"{CODE}/2.1", "step.returned", PENDING, 2),
        (f"{CODE}/2.2", "step.returned", PENDING, 2),
        (f"{CODE}/1.1", "step.assigned", ASSIGNED, 2),
    ]
    reopened = effects[2]
    assert reopened.step.due_at == vn(2025, 7, 9, 10, 0)  # its 1 day, counted afresh
    assert (reopened.step.completed_at, reopened.step.result_reference) == (None, None)
    assert reopened.step.handed_by == POLICE
    assert reopened.data["reopened"] is True
    assert reopened.archived == by_id(steps, "1.1")  # the completed first attempt, for the slip
    assert effects[0].archived is not None and effects[0].archived.status == RETURNED
    assert effects[0].step.due_at is None
    assert effects[0].data["reason"] == "Sai ngày sinh trên Giấy khai sinh"

    # Once stage 1 completes again, both stage-2 steps are assigned again (attempt 2).
    steps = apply(steps, effects)
    first = r.accept(by_id(steps, "1.1"), vn(2025, 7, 8, 11, 0), CIVIL).step
    first = r.complete(first, vn(2025, 7, 8, 14, 0), CIVIL, "KS-12b", "Đã cải chính").step
    again = r.assign_ready(put(steps, first), vn(2025, 7, 8, 14, 0), CALENDAR, CIVIL)
    assert [(e.step.id, e.step.attempt) for e in again] == [
        (f"{CODE}/2.1", 2),
        (f"{CODE}/2.2", 2),
    ]


def test_a_completed_parallel_step_keeps_its_result_when_a_sibling_returns_the_file() -> None:
    steps = step_in(ACCEPTED)
    bhxh = r.accept(by_id(steps, "2.2"), AT, BHXH).step
    steps = put(steps, r.complete(bhxh, AT, BHXH, "BHYT-42", None).step)

    effects = r.return_to_previous(steps, f"{CODE}/2.1", AT, CALENDAR, POLICE, "Thiếu dữ liệu")
    steps = apply(steps, effects)

    assert [e.step.id for e in effects] == [f"{CODE}/2.1", f"{CODE}/1.1"]
    assert by_id(steps, "2.2").status == COMPLETED


def test_there_is_nothing_to_return_to_from_the_first_stage() -> None:
    steps = apply(birth_bundle(), r.assign_ready(birth_bundle(), MONDAY, CALENDAR, DESK))

    with pytest.raises(ApiError) as raised:
        r.return_to_previous(steps, f"{CODE}/1.1", AT, CALENDAR, CIVIL, "Không rõ")

    assert (raised.value.status, raised.value.code) == (409, "no_previous_step")


def test_no_return_while_a_parallel_step_awaits_supplements() -> None:
    steps = step_in(ACCEPTED)
    steps = put(steps, r.request_supplement(by_id(steps, "2.2"), AT, CALENDAR).step)

    with pytest.raises(ApiError) as raised:
        r.return_to_previous(steps, f"{CODE}/2.1", AT, CALENDAR, POLICE, "Sai")

    assert (raised.value.status, raised.value.code) == (409, "supplement_pending")


def test_an_unknown_step_is_not_found() -> None:
    with pytest.raises(ApiError) as raised:
        r.return_to_previous(birth_bundle(), f"{CODE}/9.9", AT, CALENDAR, POLICE, "Sai")

    assert raised.value.status == 404
