"""A dossier's life as pure transitions: allowed moves, forbidden ones, and the stopped clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

import pytest
from intake.domain import dossier as life
from intake.domain.dossier import (
    AWAITING_SUPPLEMENT,
    IN_PROGRESS,
    RECEIVED,
    REFUSED,
    RESULT_READY,
    RETURNED,
    STATUS_VI,
    WITHDRAWN,
    Change,
    Dossier,
    timeliness,
)
from motcua_kit.errors import ApiError
from motcua_kit.workcal import VN_TZ, WorkCalendar

REPO = Path(__file__).resolve().parents[4]
CALENDAR = WorkCalendar.from_file(REPO / "deploy" / "calendar.json")
STATUSES = list(STATUS_VI)


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


# A plain week (no holidays): received Mon 7 Jul 2025 10:00, due Thu 10 Jul 10:00 (3 days).
MONDAY = vn(2025, 7, 7, 10, 0)
THURSDAY = vn(2025, 7, 10, 10, 0)
NOW = vn(2025, 7, 8, 9, 0)
DESK = life.Party(receiving_unit=True, agencies=frozenset({"000.00.08.H38"}))
AGENCY = life.Party(receiving_unit=False, agencies=frozenset({"BHXH.H38"}))
AT_THE_DESK = {"routed": False, "steps": {}, "party": DESK}  # a procedure without a route


def dossier_in(status: str) -> Dossier:
    base = Dossier(
        code="U-250707-0001", unit="U", status=RECEIVED, received_at=MONDAY, due_at=THURSDAY
    )
    if status == AWAITING_SUPPLEMENT:
        return replace(
            base,
            status=status,
            paused_at=MONDAY,
            remaining_seconds=3 * 8 * 3600.0,
            resume_status=IN_PROGRESS,
            supplement_requests=1,
        )
    if status in (RESULT_READY, RETURNED):
        return replace(base, status=status, result_at=NOW)
    return replace(base, status=status)


Transition = Callable[[Dossier], Change]
TRANSITIONS: dict[str, tuple[Transition, tuple[str, ...], str, str | None]] = {
    # name: (call, statuses it is allowed from, event type, resulting status or None = resumed)
    "request_supplement": (
        lambda d: life.request_supplement(d, CALENDAR, NOW, [{"code": "giay-chung-sinh"}]),
        (RECEIVED, IN_PROGRESS),
        "dossier.supplement_requested",
        AWAITING_SUPPLEMENT,
    ),
    "supplement": (
        lambda d: life.supplement(d, CALENDAR, NOW),
        (AWAITING_SUPPLEMENT,),
        "dossier.supplemented",
        None,
    ),
    "refuse": (
        lambda d: life.refuse(d, "Không đủ điều kiện"),
        (RECEIVED, IN_PROGRESS, AWAITING_SUPPLEMENT),
        "dossier.refused",
        REFUSED,
    ),
    "withdraw": (
        lambda d: life.withdraw(d, "Công dân xin rút"),
        (RECEIVED, IN_PROGRESS, AWAITING_SUPPLEMENT),
        "dossier.withdrawn",
        WITHDRAWN,
    ),
    "result_ready": (
        lambda d: life.result_ready(d, NOW, {"documents": ["giay-khai-sinh"]}, **AT_THE_DESK),
        (RECEIVED, IN_PROGRESS),
        "dossier.result_ready",
        RESULT_READY,
    ),
    "return_result": (
        lambda d: life.return_result(d, NOW, "desk"),
        (RESULT_READY,),
        "dossier.returned",
        RETURNED,
    ),
}
CASES = [(name, status) for name in TRANSITIONS for status in STATUSES]


@pytest.mark.parametrize(("name", "status"), CASES, ids=[f"{n}-from-{s}" for n, s in CASES])
def test_transition_from_every_status(name: str, status: str) -> None:
    call, allowed, event_type, result_status = TRANSITIONS[name]
    before = dossier_in(status)

    if status in allowed:
        change = call(before)
        expected = result_status or before.resume_status
        assert (change.dossier.status, change.event_type) == (expected, event_type)
        assert change.dossier.code == before.code
    else:
        with pytest.raises(ApiError) as raised:
            call(before)
        assert (raised.value.status, raised.value.code) == (409, "invalid_status")
        assert raised.value.extra == {"status": status}
        assert STATUS_VI[status] in raised.value.message


@pytest.mark.parametrize("status", STATUSES)
def test_start_processing_only_moves_a_received_dossier(status: str) -> None:
    moved = life.start_processing(dossier_in(status))

    assert moved.status == (IN_PROGRESS if status == RECEIVED else status)


@pytest.mark.parametrize("status", [RECEIVED, IN_PROGRESS])
def test_supplements_resume_the_status_the_dossier_had(status: str) -> None:
    paused = life.request_supplement(dossier_in(status), CALENDAR, NOW, []).dossier

    assert paused.resume_status == status
    assert life.supplement(paused, CALENDAR, vn(2025, 7, 9, 9, 0)).dossier.status == status


def test_supplement_can_be_requested_only_once() -> None:
    first = life.request_supplement(dossier_in(IN_PROGRESS), CALENDAR, NOW, [{"code": "a"}])
    resumed = life.supplement(first.dossier, CALENDAR, vn(2025, 7, 9, 9, 0)).dossier

    with pytest.raises(ApiError) as raised:
        life.request_supplement(resumed, CALENDAR, vn(2025, 7, 9, 10, 0), [{"code": "b"}])

    assert (raised.value.status, raised.value.code) == (409, "supplement_already_requested")
    assert first.data == {"missing": [{"code": "a"}]}


@pytest.mark.parametrize("tz", [VN_TZ, UTC], ids=["local", "utc-from-database"])
def test_the_clock_stops_for_supplements_and_moves_the_due_date(tz: tzinfo) -> None:
    received = replace(
        dossier_in(RECEIVED), received_at=MONDAY.astimezone(tz), due_at=THURSDAY.astimezone(tz)
    )

    asked = life.request_supplement(received, CALENDAR, MONDAY, [{"code": "giay-chung-sinh"}])

    assert asked.dossier.status == AWAITING_SUPPLEMENT
    assert asked.dossier.paused_at == MONDAY
    assert asked.dossier.remaining_seconds == pytest.approx(24 * 3600)  # 3 working days
    assert asked.dossier.supplement_requests == 1

    next_monday = vn(2025, 7, 14, 10, 0)
    back = life.supplement(asked.dossier, CALENDAR, next_monday)

    assert back.dossier.due_at == vn(2025, 7, 17, 10, 0)
    assert back.dossier.status == RECEIVED
    assert (back.dossier.paused_at, back.dossier.remaining_seconds) == (None, None)
    assert back.dossier.resume_status is None
    assert back.data == {
        "due_at": vn(2025, 7, 17, 10, 0).isoformat(),
        "paused_working_days": 5.0,
    }


def test_a_supplement_requested_after_the_due_instant_leaves_no_time() -> None:
    late = vn(2025, 7, 11, 10, 0)  # Friday, a day past Thursday's appointment

    asked = life.request_supplement(dossier_in(RECEIVED), CALENDAR, late, [])

    assert asked.dossier.remaining_seconds == 0.0
    back = life.supplement(asked.dossier, CALENDAR, vn(2025, 7, 12, 9, 0))  # a Saturday
    assert back.dossier.due_at == vn(2025, 7, 14, 7, 0)  # due as soon as the office opens


@pytest.mark.parametrize(
    ("finished", "expected"),
    [
        (vn(2025, 7, 9, 10, 0), "early"),  # a day before the appointment day
        (vn(2025, 7, 7, 16, 0), "early"),
        (vn(2025, 7, 10, 7, 30), "on_time"),  # the appointment day, before the instant
        (THURSDAY, "on_time"),  # exactly at the appointment
        (THURSDAY + timedelta(seconds=1), "late"),
        (vn(2025, 7, 10, 16, 0), "late"),
        (vn(2025, 7, 11, 8, 0), "late"),
    ],
)
def test_timeliness(finished: datetime, expected: str) -> None:
    assert timeliness(THURSDAY, finished) == expected
    # Timestamps read back from PostgreSQL are UTC: the verdict must not change.
    assert timeliness(THURSDAY.astimezone(UTC), finished.astimezone(UTC)) == expected


def test_timeliness_counts_local_days_for_utc_timestamps() -> None:
    # 06:00 on the appointment day in Hà Nội is 23:00 UTC the day before: on time, not early.
    finished = vn(2025, 7, 10, 6, 0).astimezone(UTC)

    assert timeliness(THURSDAY.astimezone(UTC), finished) == "on_time"


def test_result_and_return_carry_timeliness_of_the_result() -> None:
    ready = life.route_completed(dossier_in(IN_PROGRESS), vn(2025, 7, 9, 15, 0), {"note": "xong"})

    assert ready.data == {"note": "xong", "timeliness": "early"}
    assert ready.dossier.result_at == vn(2025, 7, 9, 15, 0)

    # Collected by the citizen a week later: still judged by when the result was ready.
    returned = life.return_result(ready.dossier, vn(2025, 7, 16, 9, 0), "desk")

    assert returned.data == {"method": "desk", "timeliness": "early"}
    assert returned.dossier.returned_at == vn(2025, 7, 16, 9, 0)


# --- who may act, and the route's open steps (issue 18) -----------------------------------------


def step(step_id: str, agency: str, attempt: int = 0) -> dict:
    return {"step_id": step_id, "agency": agency, "attempt": attempt, "task": {"vi": "Cấp thẻ"}}


def test_intake_keeps_the_steps_routing_reports_whatever_their_order() -> None:
    code = "X-1"
    steps = life.track_step({}, life.STEP_OPEN, step(f"{code}/2.2", "BHXH.H38"))
    steps = life.track_step(steps, life.STEP_OPEN, step(f"{code}/2.1", "CA.H38.08"))
    done = life.track_step(steps, life.STEP_DONE, step(f"{code}/2.2", "BHXH.H38"))
    late = life.track_step(done, life.STEP_OPEN, step(f"{code}/2.2", "BHXH.H38"))  # overtaken
    assert late == done
    assert [s["step_id"] for s in life.open_steps(done)] == [f"{code}/2.1"]
    returned = life.track_step(done, life.STEP_PENDING, step(f"{code}/2.1", "CA.H38.08", 1))
    assert life.open_steps(returned) == []
    again = life.track_step(returned, life.STEP_OPEN, step(f"{code}/2.1", "CA.H38.08", 1))
    assert [s["agency"] for s in life.open_steps(again)] == ["CA.H38.08"]


def test_a_routed_result_is_never_marked_by_hand_and_names_the_open_steps() -> None:
    steps = life.track_step({}, life.STEP_OPEN, step("X-1/2.1", "CA.H38.08"))
    for party in (DESK, AGENCY):
        with pytest.raises(ApiError) as refused:
            life.result_ready(
                dossier_in(IN_PROGRESS), NOW, {}, routed=True, steps=steps, party=party
            )
        assert (refused.value.status, refused.value.code) == (409, "route_not_completed")
        assert "bước 2.1 (CA.H38.08: Cấp thẻ)" in refused.value.message
        assert refused.value.extra["open_steps"][0]["step_id"] == "X-1/2.1"


def test_without_a_route_only_the_receiving_unit_marks_the_result() -> None:
    ready = life.result_ready(dossier_in(IN_PROGRESS), NOW, {}, **AT_THE_DESK)
    assert ready.dossier.status == life.RESULT_READY
    with pytest.raises(ApiError) as refused:
        life.result_ready(dossier_in(IN_PROGRESS), NOW, {}, routed=False, steps={}, party=AGENCY)
    assert (refused.value.status, refused.value.code) == (403, "not_receiving_unit")


def test_an_agency_acts_only_while_it_holds_an_open_step() -> None:
    holding = life.track_step({}, life.STEP_OPEN, step("X-1/2.2", "BHXH.H38"))
    life.require_party(AGENCY, holding, "từ chối")
    life.require_party(DESK, {}, "trả kết quả", desk_only=True)
    finished = life.track_step(holding, life.STEP_DONE, step("X-1/2.2", "BHXH.H38"))
    for steps, desk_only, code in (
        (finished, False, "not_step_holder"),
        (holding, True, "not_receiving_unit"),
    ):
        with pytest.raises(ApiError) as refused:
            life.require_party(AGENCY, steps, "từ chối", desk_only=desk_only)
        assert (refused.value.status, refused.value.code) == (403, code)
