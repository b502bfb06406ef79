"""Worklist agencies move their steps over HTTP; intake follows routing's events.

Here the commune police works in the worklist too (a test registry), so every step of the birth
bundle is an officer's call: stage 1 the commune, stage 2 police and insurance in parallel.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

pytestmark = pytest.mark.integration

COMMUNE, POLICE, INSURANCE = "000.00.08.H38", "CA.H38.08", "BHXH.H38"
JUSTICE = "000.10.00.H38"  # a worklist agency that holds no step of the bundle


@pytest.fixture
def agencies_file(worklist_agencies_file):
    return worklist_agencies_file


def statuses(platform, code):
    return {r["step_id"].rsplit("/", 1)[1]: r["status"] for r in platform.route(code)["rows"]}


def test_stage_two_waits_for_stage_one_and_the_route_for_both(platform, routing_tap):
    tap = routing_tap("step.assigned", "route.completed")
    code = platform.submit()["code"]
    platform.wait_step(f"{code}/1.1", "assigned")
    platform.act(f"{code}/1.1", "accept", COMMUNE)
    assert statuses(platform, code) == {"1.1": "accepted", "2.1": "pending", "2.2": "pending"}

    platform.act(f"{code}/1.1", "complete", COMMUNE, result_reference="GKS-01")
    assert statuses(platform, code) == {"1.1": "completed", "2.1": "assigned", "2.2": "assigned"}
    assigned = [e["data"]["step_id"] for e in tap.wait_count("step.assigned", code, 3)]
    assert assigned == [f"{code}/1.1", f"{code}/2.1", f"{code}/2.2"]

    platform.finish(f"{code}/2.2", INSURANCE)
    assert platform.route(code)["status"] == "open", "police has not finished"
    assert platform.dossier(code)["status"] == "in_progress"

    platform.finish(f"{code}/2.1", POLICE)
    assert platform.route(code)["status"] == "completed"
    assert tap.wait_for("route.completed", code)["data"]["code"] == code
    platform.wait_dossier(code, "result_ready")


def test_supplement_request_stops_the_step_clock_until_the_desk_has_the_papers(
    platform, routing_sql, routing_tap, make_token
):
    tap = routing_tap("step.supplement_requested", "step.resumed")
    code = platform.submit()["code"]
    platform.wait_step(f"{code}/1.1", "assigned")
    platform.finish(f"{code}/1.1", COMMUNE)
    step = f"{code}/2.2"
    platform.act(step, "accept", INSURANCE)
    due = platform.step(step)["due_at"]

    missing = [{"document_code": "giay-chung-sinh", "description": "Bản giấy chứng sinh rõ nét"}]
    platform.act(
        step, "supplement-request", INSURANCE, missing=missing, reason="Giấy chứng sinh bị mờ"
    )
    paused = platform.step(step)
    assert paused["status"] == "awaiting_supplement" and paused["remaining_seconds"] > 0
    assert tap.wait_for("step.supplement_requested", code)["data"]["missing"] == missing
    platform.wait_dossier(code, "awaiting_supplement")
    [asked] = [a for a in platform.history(code) if a["action"] == "supplement_requested"]
    assert asked["actor"]["unit"] == INSURANCE and asked["details"]["missing"] == missing

    # The citizen takes a month: as if the request had been made thirty days ago.
    routing_sql(
        "UPDATE steps SET paused_at = paused_at - interval '30 days', "
        "due_at = due_at - interval '30 days' WHERE id = %s",
        (step,),
    )
    papers = {"documents": [{"code": "giay-chung-sinh", "copies": 1}]}
    reply = platform.intake.post(
        f"/dossiers/{code}/supplements", json=papers, token=make_token("reception", unit=COMMUNE)
    )
    assert reply.status_code == 200, reply.text

    resumed = platform.wait_step(step, "accepted")
    assert resumed["paused_at"] is None and resumed["remaining_seconds"] is None
    assert resumed["due_at"] > due - timedelta(days=30), "the clock restarted from the papers"
    assert resumed["due_at"] >= due - timedelta(seconds=1), "with the time that was left"
    # The dossier's clock stopped for every agency: police's step paused and resumed too.
    resumed_events = {
        e["data"]["step_id"]: e["data"] for e in tap.wait_count("step.resumed", code, 2)
    }
    assert set(resumed_events) == {step, f"{code}/2.1"}
    assert resumed_events[step]["paused_working_days"] >= 10
    platform.wait_dossier(code, "in_progress")


def test_refusal_ends_the_route_and_the_dossier(platform, routing_tap):
    tap = routing_tap("route.refused", "task.#")
    code = platform.submit()["code"]
    platform.wait_step(f"{code}/1.1", "assigned")
    platform.finish(f"{code}/1.1", COMMUNE)
    platform.act(f"{code}/2.1", "accept", POLICE)

    platform.act(f"{code}/2.2", "refusal", INSURANCE, reason="Trẻ đã có thẻ bảo hiểm y tế")
    assert statuses(platform, code) == {"1.1": "completed", "2.1": "cancelled", "2.2": "refused"}
    assert platform.route(code)["status"] == "refused"
    refused = tap.wait_for("route.refused", code)["data"]
    assert refused["agency"] == INSURANCE and refused["reason"] == "Trẻ đã có thẻ bảo hiểm y tế"
    platform.wait_dossier(code, "refused")

    late = platform.act(f"{code}/2.1", "complete", POLICE, expect=409, result_reference="x")
    assert late["error"] == "route_closed"
    tasks = platform.routing.get(f"/agencies/{POLICE}/tasks", token=platform.token(POLICE))
    assert all(t["code"] != code for t in tasks.json()["tasks"])


def test_withdrawal_at_the_desk_cancels_the_route(platform, routing_tap, make_token):
    tap = routing_tap("route.cancelled")
    code = platform.submit()["code"]
    platform.wait_step(f"{code}/1.1", "assigned")
    platform.act(f"{code}/1.1", "accept", COMMUNE)

    reply = platform.intake.post(
        f"/dossiers/{code}/withdrawal",
        json={"reason": "Công dân xin rút hồ sơ"},
        token=make_token("reception", unit=COMMUNE),
    )
    assert reply.status_code == 200, reply.text
    assert tap.wait_for("route.cancelled", code)["data"]["reason"] == "dossier.withdrawn"
    assert platform.route(code)["status"] == "cancelled"
    assert set(statuses(platform, code).values()) == {"cancelled"}
    done = platform.act(f"{code}/1.1", "complete", COMMUNE, expect=409, result_reference="x")
    assert done["error"] == "route_closed"


def test_return_reopens_the_previous_stage(platform):
    code = platform.submit()["code"]
    platform.wait_step(f"{code}/1.1", "assigned")
    first = platform.act(f"{code}/1.1", "return", COMMUNE, expect=409, reason="Không có bước trước")
    assert first["error"] == "no_previous_step"
    platform.finish(f"{code}/1.1", COMMUNE)
    platform.finish(f"{code}/2.2", INSURANCE)
    platform.act(f"{code}/2.1", "accept", POLICE)

    platform.act(f"{code}/2.1", "return", POLICE, reason="Giấy khai sinh ghi sai tên cha")
    reopened = platform.step(f"{code}/1.1")
    assert (reopened["status"], reopened["attempt"]) == ("assigned", 2)
    assert reopened["handed_by"]["unit"] == POLICE
    assert platform.step(f"{code}/2.1")["status"] == "pending"
    assert platform.step(f"{code}/2.2")["status"] == "completed", "insurance keeps its result"
    tasks = platform.routing.get(f"/agencies/{COMMUNE}/tasks", token=platform.token(COMMUNE))
    assert f"{code}/1.1" in [t["step_id"] for t in tasks.json()["tasks"]]

    platform.finish(f"{code}/1.1", COMMUNE)
    assert platform.step(f"{code}/2.1")["status"] == "assigned"
    platform.finish(f"{code}/2.1", POLICE)
    assert platform.route(code)["status"] == "completed"
    rows = [(r["step_id"][-3:], r["attempt"], r["status"]) for r in platform.route(code)["rows"]]
    assert ("1.1", 1, "completed") in rows and ("1.1", 2, "completed") in rows
    assert ("2.1", 1, "returned") in rows and ("2.1", 2, "completed") in rows
    platform.wait_dossier(code, "result_ready")


def test_supervisor_reassigns_a_step_to_another_agency(platform):
    code = platform.submit()["code"]
    step = f"{code}/1.1"
    due = platform.wait_step(step, "assigned")["due_at"]

    def reassign(agency, role="supervisor"):
        return platform.routing.post(
            f"/steps/{step}/reassignment",
            json={"agency": agency},
            token=platform.token(COMMUNE, role),
        )

    assert reassign(JUSTICE, role="processing").status_code == 403
    assert reassign("KHONG.CO").json()["error"] == "unknown_agency"
    assert reassign(JUSTICE).status_code == 200
    moved = platform.step(step)
    assert (moved["agency_code"], moved["attempt"], moved["due_at"]) == (JUSTICE, 2, due)
    assert platform.act(step, "accept", COMMUNE, expect=403)["error"] == "not_step_holder"
    platform.finish(step, JUSTICE)
    rows = [(r["agency_code"], r["status"]) for r in platform.route(code)["rows"][:2]]
    assert rows == [(COMMUNE, "reassigned"), (JUSTICE, "completed")]


def test_tasks_only_for_the_officers_of_that_agency(platform, make_token):
    code = platform.submit()["code"]
    platform.wait_step(f"{code}/1.1", "assigned")
    url = f"/agencies/{COMMUNE}/tasks"

    mine = platform.routing.get(url, token=platform.token(COMMUNE))
    assert mine.status_code == 200, mine.text
    [task] = [t for t in mine.json()["tasks"] if t["code"] == code]
    assert (task["step_id"], task["status"], task["agency"]) == (f"{code}/1.1", "assigned", COMMUNE)
    assert platform.routing.get(url, token=platform.token(COMMUNE, "supervisor")).status_code == 200

    other = platform.routing.get(url, token=platform.token(INSURANCE))
    assert (other.status_code, other.json()["error"]) == (403, "other_agency")
    assert platform.routing.get(url, token=make_token("reception", unit=COMMUNE)).status_code == 403
    assert platform.routing.get(url, token=make_token("admin", unit="ADMIN")).status_code == 200
    assert platform.routing.get(url).status_code == 401
    assert (
        platform.act(f"{code}/1.1", "accept", INSURANCE, expect=403)["error"] == "not_step_holder"
    )
    assert platform.act(f"{code}/1.1", "approve", COMMUNE, expect=404)["error"] == "not_found"
