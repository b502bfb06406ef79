"""The deadline policy read from the config, and a step's lateness risk as the views show it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from motcua_kit.workcal import VN_TZ, WorkCalendar
from routing.domain.deadlines import lateness_risk
from routing.domain.route import ACCEPTED, ASSIGNED, AWAITING_SUPPLEMENT, COMPLETED, Step
from routing.providers import Policy, policy_from_config
from routing.workflow import Workload, step_risk

REPO = Path(__file__).resolve().parents[4]
CALENDAR = WorkCalendar.from_file(REPO / "deploy" / "calendar.json")
MONDAY = datetime(2025, 7, 7, 9, 0, tzinfo=VN_TZ)  # a plain week
CODE = "000.00.08.H38-250707-0001"


# --- the policy -----------------------------------------------------------------------------------


def test_the_defaults_when_nothing_is_set() -> None:
    expected = Policy(timedelta(hours=4), 0.7, timedelta(minutes=30))
    assert policy_from_config({}) == expected
    assert policy_from_config({"STEP_REMINDER_HOURS": "", "RISK_THRESHOLD": None}) == expected


def test_values_from_the_environment_are_read_as_numbers() -> None:
    config = {"STEP_REMINDER_HOURS": "2.5", "RISK_THRESHOLD": "0.9", "RISK_CHECK_MINUTES": 0.01}
    assert policy_from_config(config) == Policy(
        timedelta(hours=2, minutes=30), 0.9, timedelta(seconds=0.6)
    )
    off = policy_from_config({"STEP_REMINDER_HOURS": 0, "RISK_CHECK_MINUTES": "0"})
    assert off.reminder_before == off.risk_check_every == timedelta(0)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("STEP_REMINDER_HOURS", "-1"),
        ("STEP_REMINDER_HOURS", "four"),
        ("RISK_THRESHOLD", "0"),
        ("RISK_THRESHOLD", "1.5"),
        ("RISK_THRESHOLD", "nan"),
        ("RISK_CHECK_MINUTES", "-5"),
        ("RISK_CHECK_MINUTES", "inf"),
    ],
)
def test_a_bad_value_names_its_setting(key: str, value: str) -> None:
    with pytest.raises(ValueError, match=key):
        policy_from_config({key: value})


# --- a step's risk --------------------------------------------------------------------------------


def step(status: str = ACCEPTED, due_at: datetime | None = None) -> Step:
    return Step(
        id=f"{CODE}/1.1",
        dossier_code=CODE,
        stage=1,
        index=1,
        agency_code="000.00.08.H38",
        role="lead",
        days=2,
        task_vi="Đăng ký khai sinh",
        task_en="Register the birth",
        status=status,
        assigned_at=MONDAY,
        due_at=due_at or CALENDAR.add_working_days(MONDAY, 2),
    )


def risk(s: Step, load: Workload) -> float:
    found = step_risk(s, load, MONDAY, CALENDAR)
    assert found is not None
    return found


def test_the_backlog_leaves_out_the_step_itself() -> None:
    load = Workload(open_steps=5, recent_days=())
    assert load.backlog(step(ASSIGNED)) == load.backlog(step(AWAITING_SUPPLEMENT)) == 4
    assert load.backlog(step(COMPLETED)) == 5
    assert Workload(0, ()).backlog(step()) == 0


def test_a_held_step_gets_the_domain_risk_from_its_agency_workload() -> None:
    load = Workload(open_steps=3, recent_days=(0.5, 1.0, 2.0))
    due = CALENDAR.add_working_days(MONDAY, 2)
    expected = lateness_risk(MONDAY, due, 2, [0.5, 1.0, 2.0], CALENDAR)
    assert risk(step(due_at=due), load) == pytest.approx(expected)
    # 3 dossiers at 1 working day each, 2 working days left: (3^3) / (3^3 + 2^3)
    assert risk(step(due_at=due), load) == pytest.approx(27 / 35)


def test_a_busier_agency_or_a_nearer_deadline_is_riskier() -> None:
    s = step()
    quiet, busy = Workload(1, (1.0,)), Workload(6, (1.0,))
    assert risk(s, busy) > risk(s, quiet)
    assert risk(replace(s, due_at=MONDAY + timedelta(hours=1)), quiet) > risk(s, quiet)


@pytest.mark.parametrize("status", [AWAITING_SUPPLEMENT, COMPLETED])
def test_no_risk_while_the_clock_is_stopped_or_the_step_is_done(status: str) -> None:
    assert step_risk(step(status), Workload(9, ()), MONDAY, CALENDAR) is None
    assert step_risk(replace(step(), due_at=None), Workload(9, ()), MONDAY, CALENDAR) is None
