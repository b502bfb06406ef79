"""Issue 3, beyond the law: each held step's risk of being late, from its agency's backlog and
recent pace, shown in the worklist and the control slip, and raised (`step.at_risk`, to the
agency's supervisor) before the step is due. And the reminder's lead time is a setting.

The commune of these tests is an agency of their own (a fresh code plays UBND_XA for the receiving
unit): its backlog is exactly the dossiers a test submits, and with no history it is reckoned at
1 working day per dossier. Three 1-day steps thus carry a risk of 3^3 / (3^3 + 1^3) = 0.96 each,
below the threshold set here; a step moved to a few seconds before its due instant reaches 1.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

pytestmark = pytest.mark.integration

POLICE = "CA.H38.08"
RECEIVING_UNIT = "000.00.08.H38"
REMINDER_HOURS = 2
THRESHOLD = 0.99  # above 0.96: only the step moved close to its due instant crosses it


@pytest.fixture
def commune() -> str:
    return f"T{uuid.uuid4().hex[:6]}.H38"


@pytest.fixture
def agencies_file(make_agencies_file: Callable[..., Any], commune: str) -> Any:
    def own_commune(data: dict[str, Any]) -> None:
        name = {"vi": f"UBND xã thử {commune}", "en": f"Test commune {commune}"}
        data["agencies"].append(
            {"code": commune, "name": name, "level": "commune", "parent": None}
            | {"mode": "worklist", "kind": "UBND_XA", "amqp_user": None}
        )
        data["assignments"][RECEIVING_UNIT]["UBND_XA"] = commune
        for agency in data["agencies"]:
            if agency["code"] == POLICE:  # nothing on the bus here
                agency.update(mode="worklist", amqp_user=None)

    return make_agencies_file(own_commune)


@pytest.fixture
def routing_config(routing_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **routing_config,
        "STEP_REMINDER_HOURS": REMINDER_HOURS,
        "RISK_THRESHOLD": THRESHOLD,
        "RISK_CHECK_MINUTES": 0.01,  # a check every 0.6 s
    }


@pytest.fixture
def submit(platform: Any, routing_sql: Any) -> Iterator[Callable[[int], list[str]]]:
    """`submit(n)`: n birth bundles, each first step held by the test's commune."""
    codes: list[str] = []

    def run(n: int) -> list[str]:
        new = [platform.submit()["code"] for _ in range(n)]
        for code in new:
            platform.wait_step(f"{code}/1.1", "assigned")
        codes.extend(new)
        return new

    yield run
    # These checks re-arm every 0.6 s: leave none to the routing of later tests.
    routing_sql(
        "DELETE FROM timers WHERE kind = 'step.risk_check' AND key LIKE ANY(%s)",
        ([f"{code}/%" for code in codes],),
    )


def due_in(sql: Any, step_id: str, seconds: float) -> None:
    """Move the step's due instant, and its `step.overdue` timer, `seconds` from now."""
    sql(
        "UPDATE steps SET due_at = now() + make_interval(secs => %s) WHERE id = %s",
        (seconds, step_id),
    )
    sql(
        "UPDATE timers SET due_at = now() + make_interval(secs => %s), fired_at = NULL "
        "WHERE kind = 'step.overdue' AND key = %s",
        (seconds, step_id),
    )


def emitted(sql: Any, event_type: str, codes: list[str]) -> list[str]:
    rows = sql(
        "SELECT payload->'data'->>'step_id' AS step_id FROM outbox_events "
        "WHERE type = %s AND subject = ANY(%s) ORDER BY step_id",
        (event_type, codes),
    )
    return [r["step_id"] for r in rows]


def test_a_step_likely_to_be_late_is_raised_once_before_it_is_overdue(
    platform: Any, routing_sql: Any, routing_tap: Any, submit: Any, commune: str
) -> None:
    tap = routing_tap("step.at_risk", "step.overdue")
    codes = submit(3)
    target = f"{codes[0]}/1.1"
    platform.act(target, "accept", commune)  # accepted: its timers stay armed

    due_in(routing_sql, target, 4)
    assert platform.metric("motcua_routing_steps_at_risk", agency=commune) == 1
    raised = tap.wait_for("step.at_risk", codes[0])["data"]
    overdue = tap.wait_for("step.overdue", codes[0])["data"]

    assert (raised["step_id"], raised["status"], raised["backlog"]) == (target, "accepted", 2)
    assert THRESHOLD <= raised["lateness_risk"] <= 1
    assert raised["escalate_to"] == {"agency": commune, "role": "supervisor"}
    at = datetime.fromisoformat
    assert at(raised["at"]) < at(raised["due_at"]) <= at(overdue["at"]), "before, not after"
    assert emitted(routing_sql, "step.at_risk", codes) == [target], "once, and only that step"
    assert platform.metric("motcua_routing_steps_at_risk", agency=commune) == 0, "now overdue"

    tasks = platform.routing.get(f"/agencies/{commune}/tasks", token=platform.token(commune))
    risks = {t["step_id"]: t["lateness_risk"] for t in tasks.json()["tasks"]}
    others = [f"{code}/1.1" for code in codes[1:]]
    assert risks[target] == 1.0, "past due"
    assert [risks[s] for s in others] == [pytest.approx(27 / 28, abs=0.01)] * 2
    slip = platform.route(codes[1])
    assert slip["lateness_risk"] == risks[others[0]]
    assert [r["lateness_risk"] for r in slip["rows"]] == [risks[others[0]], None, None]

    # A step that ends takes its risk checks with it.
    platform.act(others[1], "refusal", commune, reason="Không thuộc thẩm quyền")
    platform.eventually(
        lambda: not routing_sql("SELECT 1 FROM timers WHERE key = %s", (others[1],)),
        "the refused step's timers gone",
    )


def test_the_reminder_comes_step_reminder_hours_of_office_time_before_due(
    platform: Any, routing_sql: Any, submit: Any, work_calendar: Any
) -> None:
    [code] = submit(1)
    step_id = f"{code}/1.1"
    due = platform.step(step_id)["due_at"]
    [timer] = routing_sql(
        "SELECT due_at FROM timers WHERE kind = 'step.reminder' AND key = %s", (step_id,)
    )
    office = work_calendar.working_days_between(timer["due_at"], due)
    lead = office * work_calendar.office_hours.day_length
    assert abs(lead - timedelta(hours=REMINDER_HOURS)) < timedelta(seconds=1)
    assert timer["due_at"] < due
