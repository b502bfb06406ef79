"""Deadlines are database timers: each fires once across routing instances and after a restart.
And the apology (Form 04): the agency holding the file may set a new date, once.

A step's deadline is days away; the tests move its `step.overdue` timer (and the step's due_at)
to a second from now in routing's database.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from motcua_kit.workcal import VN_TZ

pytestmark = pytest.mark.integration

COMMUNE, POLICE, INSURANCE = "000.00.08.H38", "CA.H38.08", "BHXH.H38"


@pytest.fixture
def agencies_file(worklist_agencies_file):
    return worklist_agencies_file


def due_in(sql, kind, step_id, seconds):
    """Move a step's timer (and, for `step.overdue`, the step's due instant) `seconds` ahead."""
    sql(
        "UPDATE timers SET due_at = now() + make_interval(secs => %s), fired_at = NULL "
        "WHERE kind = %s AND key = %s",
        (seconds, kind, step_id),
    )
    if kind == "step.overdue":
        sql(
            "UPDATE steps SET due_at = now() + make_interval(secs => %s) WHERE id = %s",
            (seconds, step_id),
        )


def emitted(sql, event_type, code):
    """What routing committed to its outbox (published or not), whichever instance did."""
    rows = sql(
        "SELECT payload->'data'->>'step_id' AS step_id FROM outbox_events "
        "WHERE type = %s AND subject = %s ORDER BY step_id",
        (event_type, code),
    )
    return [r["step_id"] for r in rows]


def test_overdue_fires_once_per_step_across_two_instances(
    platform, make_routing, routing_sql, routing_tap
):
    make_routing()  # a second instance: same database, same vhost, its own timer loop
    tap = routing_tap("step.overdue", "step.reminder")
    code = platform.submit()["code"]
    platform.wait_step(f"{code}/1.1", "assigned")
    platform.finish(f"{code}/1.1", COMMUNE)
    steps = [f"{code}/2.1", f"{code}/2.2"]
    for step in steps:
        due_in(routing_sql, "step.overdue", step, 1)
    # The barrier: a later timer; once it has fired, both loops have passed the overdue ones.
    due_in(routing_sql, "step.reminder", steps[0], 2.5)

    overdue = tap.wait_count("step.overdue", code, 2)
    assert sorted(e["data"]["step_id"] for e in overdue) == steps
    assert {e["data"]["escalate_to"]["agency"] for e in overdue} == {POLICE, INSURANCE}
    assert all(e["data"]["escalate_to"]["role"] == "supervisor" for e in overdue)
    tap.wait_for("step.reminder", code)

    assert emitted(routing_sql, "step.overdue", code) == steps, "exactly one per step"
    assert len(tap.of("step.overdue", code)) == 2
    fired = routing_sql(
        "SELECT count(*) AS n FROM timers WHERE kind = 'step.overdue' AND key = ANY(%s) "
        "AND fired_at IS NOT NULL",
        (steps,),
    )
    assert fired[0]["n"] == 2
    marks = {r["step_id"][-3:]: r["timeliness"] for r in platform.route(code)["rows"]}
    assert marks["2.1"] == marks["2.2"] == "late"


def test_a_timer_due_while_routing_was_stopped_fires_once_after_it_starts(
    platform, make_routing, routing_sql, routing_tap
):
    tap = routing_tap("step.overdue", "step.reminder")
    code = platform.submit()["code"]
    step = f"{code}/1.1"
    platform.wait_step(step, "assigned")

    platform.routing.container.stop()
    due_in(routing_sql, "step.overdue", step, 0.2)
    platform.eventually(
        lambda: routing_sql(
            "SELECT 1 FROM timers WHERE kind = 'step.overdue' AND key = %s AND due_at <= now()",
            (step,),
        ),
        "the overdue timer falling due",
    )
    assert emitted(routing_sql, "step.overdue", code) == [], "nobody was there to fire it"

    make_routing()  # routing starts again
    assert tap.wait_for("step.overdue", code)["data"]["step_id"] == step
    due_in(routing_sql, "step.reminder", step, 1.5)  # the barrier
    tap.wait_for("step.reminder", code)
    assert emitted(routing_sql, "step.overdue", code) == [step]
    assert len(tap.of("step.overdue", code)) == 1


def test_the_agency_holding_the_file_may_set_a_new_date_once(platform, routing_tap, work_calendar):
    tap = routing_tap("route.apology_issued")
    received = platform.submit()
    code = received["code"]
    platform.wait_step(f"{code}/1.1", "assigned")
    platform.wait_dossier(code, "in_progress")
    new_date = work_calendar.next_working_day(date.fromisoformat(received["appointment_date"]))
    body = {"reason": "Cơ sở dữ liệu hộ tịch gián đoạn", "new_date": new_date.isoformat()}

    def apologise(agency, **changes):
        return platform.routing.post(
            f"/dossiers/{code}/apology", json={**body, **changes}, token=platform.token(agency)
        )

    refused = apologise(INSURANCE)
    assert (refused.status_code, refused.json()["error"]) == (403, "not_at_fault")

    given = apologise(COMMUNE)
    assert given.status_code == 201, given.text
    assert given.json()["apology"]["new_date"] == new_date.isoformat()
    issued = tap.wait_for("route.apology_issued", code)["data"]
    assert (issued["agency_code"], issued["new_date"]) == (COMMUNE, new_date.isoformat())

    def moved():
        due = datetime.fromisoformat(platform.dossier(code)["due_at"]).astimezone(VN_TZ)
        return due.date() == new_date

    platform.eventually(moved, "intake's appointment on the new date")
    assert platform.route(code)["appointment_at"][:10] == new_date.isoformat(), "routing's too"

    again = apologise(COMMUNE, new_date=work_calendar.next_working_day(new_date).isoformat())
    assert (again.status_code, again.json()["error"]) == (409, "apology_already_given")
