"""State changes follow the route, not a shortcut (issue 18): who may change a dossier, in which
state, at intake's desk while routing holds the route.

The birth bundle: stage 1 the commune (the receiving unit), stage 2 police and insurance in
parallel; here every agency works in the worklist. `9.000986` is the same bundle without a route
(added to intake's test catalogue), decided by the receiving unit itself.
"""

from __future__ import annotations

from typing import Any

import pytest
from motcua_kit.testing import sql_runner

pytestmark = pytest.mark.integration

COMMUNE, POLICE, INSURANCE = "000.00.08.H38", "CA.H38.08", "BHXH.H38"
OTHER_COMMUNE = "000.00.09.H38"
DESK_ONLY = "9.000986"
RESULT = {"result_reference": "125/2026/TP-KS"}


@pytest.fixture
def agencies_file(worklist_agencies_file):
    return worklist_agencies_file


@pytest.fixture
def intake_sql(intake_database):
    return sql_runner(intake_database)


def audit_records(platform, code: str) -> list[tuple[int, str]]:
    """intake's audit chain of the dossier, without the records of reading it."""
    token = platform.token(COMMUNE, "supervisor")
    reply = platform.intake.get(f"/dossiers/{code}/audit", token=token)
    assert reply.status_code == 200, reply.text
    return [
        (r["seq"], r["action"])
        for r in reply.json()["records"]
        if not r["action"].startswith("read.")
    ]


def outbox_types(intake_sql, code: str) -> list[str]:
    rows = intake_sql("SELECT type FROM outbox_events WHERE subject = %s ORDER BY seq", (code,))
    return [r["type"] for r in rows]


def intake_step(intake_sql, code: str, step_id: str) -> dict[str, Any] | None:
    [row] = intake_sql("SELECT route_steps FROM dossiers WHERE code = %s", (code,))
    return row["route_steps"].get(step_id)


def wait_intake_step(platform, intake_sql, code: str, step_id: str, status: str) -> None:
    platform.eventually(
        lambda: (s := intake_step(intake_sql, code, step_id)) is not None and s["status"] == status,
        f"intake knows {step_id} {status}",
    )


def post(platform, code: str, action: str, body: dict[str, Any], token: str):
    reply = platform.intake.post(f"/dossiers/{code}/{action}", json=body, token=token)
    assert reply.status_code < 500, reply.text
    return reply


def test_an_agency_cannot_mark_the_result_while_steps_are_open(platform, intake_sql, routing_tap):
    tap = routing_tap("dossier.result_ready", exchange="intake.events")
    code = platform.at_stage_two()
    wait_intake_step(platform, intake_sql, code, f"{code}/2.1", "assigned")
    wait_intake_step(platform, intake_sql, code, f"{code}/2.2", "assigned")
    platform.finish(f"{code}/2.2", INSURANCE)
    wait_intake_step(platform, intake_sql, code, f"{code}/2.2", "completed")
    before = (
        platform.dossier(code)["status"],
        platform.history(code),
        audit_records(platform, code),
    )
    events_before = outbox_types(intake_sql, code)

    # An officer of an agency on the route, and the receiving unit's own officers: all refused.
    for unit, role in ((INSURANCE, "processing"), (COMMUNE, "processing"), (COMMUNE, "reception")):
        reply = post(platform, code, "result", RESULT, platform.token(unit, role))
        assert reply.status_code == 409, (unit, role, reply.text)
        body = reply.json()
        assert body["error"] == "route_not_completed"
        assert [s["step_id"] for s in body["open_steps"]] == [f"{code}/2.1"]  # 2.2 is done
        assert body["open_steps"][0]["agency"] == POLICE
        assert f"bước 2.1 ({POLICE}" in body["message"]
    after = (
        platform.dossier(code)["status"],
        platform.history(code),
        audit_records(platform, code),
    )
    assert after == before
    assert before[0] == "in_progress"
    assert outbox_types(intake_sql, code) == events_before
    assert "dossier.result_ready" not in events_before
    assert tap.of("dossier.result_ready", code) == []

    # A return before the result: refused too.
    reply = post(platform, code, "return", {"method": "desk"}, platform.token(COMMUNE, "reception"))
    assert reply.status_code == 409, reply.text
    assert reply.json()["error"] == "invalid_status"

    # routing completes the route: the result is ready as before, and the desk returns it.
    platform.finish(f"{code}/2.1", POLICE)
    ready = platform.wait_dossier(code, "result_ready")
    assert ready["current_step"] is None
    assert tap.wait_for("dossier.result_ready", code)["data"]["actor"]["id"] == "routing"
    again = post(platform, code, "result", RESULT, platform.token(COMMUNE, "processing"))
    assert again.status_code == 409 and again.json()["error"] == "invalid_status", again.text
    returned = post(
        platform, code, "return", {"method": "desk"}, platform.token(COMMUNE, "reception")
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "returned"


def test_without_a_route_the_receiving_unit_marks_the_result(
    platform, routing_tap, intake_sql, make_token
):
    tap = routing_tap("route.completed")
    code = platform.submit(procedure=DESK_ONLY)["code"]
    completed = tap.wait_for("route.completed", code)  # routing has nothing to hand over
    assert completed["data"]["results"] == []
    # intake takes it in (before: dead-lettered, as a result "marked" by no unit at all).
    platform.eventually(
        lambda: intake_sql("SELECT 1 FROM inbox_events WHERE event_id = %s", (completed["id"],)),
        "intake handled route.completed",
    )
    others = {
        "another commune's officer": platform.token(OTHER_COMMUNE, "processing"),
        "an agency's officer": platform.token(INSURANCE, "processing"),
        "another unit's system": make_token("system", unit=OTHER_COMMUNE, officer="he-thong-khac"),
    }
    for who, token in others.items():
        reply = post(platform, code, "result", RESULT, token)
        assert reply.status_code == 403, (who, reply.text)
    # routing's route.completed (it had no step to hand over) did not mark it either.
    assert platform.dossier(code)["status"] == "received"
    assert "result_ready" not in [a["action"] for a in platform.history(code)]

    ready = post(platform, code, "result", RESULT, platform.token(COMMUNE, "processing"))
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "result_ready"
    [marked] = [a for a in platform.history(code) if a["action"] == "result_ready"]
    assert marked["actor"]["unit"] == COMMUNE


def test_an_agency_that_holds_no_open_step_cannot_refuse_or_ask_for_papers(platform, intake_sql):
    code = platform.at_stage_two()
    platform.finish(f"{code}/2.2", INSURANCE)
    wait_intake_step(platform, intake_sql, code, f"{code}/2.2", "completed")
    wait_intake_step(platform, intake_sql, code, f"{code}/2.1", "assigned")
    history = platform.history(code)
    insurance = platform.token(INSURANCE, "processing")

    refused = post(platform, code, "refusal", {"reason": "Không đủ điều kiện"}, insurance)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "not_step_holder"
    asked = post(
        platform,
        code,
        "supplement-request",
        {"missing": [{"description": "Bản sao giấy chứng sinh"}], "reason": "Bị mờ"},
        insurance,
    )
    assert asked.status_code == 403, asked.text
    assert asked.json()["error"] == "not_step_holder"
    assert platform.dossier(code)["status"] == "in_progress"
    assert platform.history(code) == history
    assert platform.route(code)["status"] == "open"

    # The police holds 2.1: it may refuse at the desk, which ends the route.
    police = post(
        platform, code, "refusal", {"reason": "Không đủ điều kiện"}, platform.token(POLICE)
    )
    assert police.status_code == 200, police.text
    assert police.json()["status"] == "refused"


def test_the_citizen_deals_with_the_desk_not_with_an_agency(platform, intake_sql):
    code = platform.at_stage_two()
    wait_intake_step(platform, intake_sql, code, f"{code}/2.2", "assigned")
    agency_desk = platform.token(INSURANCE, "reception")  # an agency's own reception officer
    withdrawn = post(platform, code, "withdrawal", {"reason": "Công dân xin rút"}, agency_desk)
    assert withdrawn.status_code == 403, withdrawn.text
    assert withdrawn.json()["error"] == "not_receiving_unit"
    assert platform.dossier(code)["status"] == "in_progress"

    desk = platform.token(COMMUNE, "reception")
    withdrawn = post(platform, code, "withdrawal", {"reason": "Công dân xin rút"}, desk)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
