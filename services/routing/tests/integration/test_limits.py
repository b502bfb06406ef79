"""What the law and the units' boundaries forbid: a second supplement request, strangers' access."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

COMMUNE, POLICE, INSURANCE = "000.00.08.H38", "CA.H38.08", "BHXH.H38"
JUSTICE = "000.10.00.H38"  # an agency that holds no step of the birth bundle
MISSING = [{"document_code": "giay-chung-sinh", "description": "Bản giấy chứng sinh rõ nét"}]


@pytest.fixture
def agencies_file(worklist_agencies_file):
    return worklist_agencies_file


def test_a_dossier_gets_one_supplement_request_whichever_agency_asks(platform, make_token):
    code = platform.submit()["code"]
    platform.wait_step(f"{code}/1.1", "assigned")
    platform.finish(f"{code}/1.1", COMMUNE)
    platform.act(f"{code}/2.2", "accept", INSURANCE)
    platform.act(f"{code}/2.2", "supplement-request", INSURANCE, missing=MISSING, reason="Bị mờ")
    platform.wait_dossier(code, "awaiting_supplement")
    papers = {"documents": [{"code": "giay-chung-sinh", "copies": 1}]}
    token = make_token("reception", unit=COMMUNE)
    assert platform.intake.post(f"/dossiers/{code}/supplements", json=papers, token=token).ok
    platform.wait_step(f"{code}/2.2", "accepted")

    platform.act(f"{code}/2.1", "accept", POLICE)
    second = platform.act(
        f"{code}/2.1", "supplement-request", POLICE, expect=409, missing=MISSING, reason="Lại mờ"
    )
    assert second["error"] == "supplement_already_requested"
    assert platform.step(f"{code}/2.1")["status"] == "accepted", "the step was not paused"


def test_only_the_units_involved_read_the_control_slip(platform):
    code = platform.submit()["code"]
    platform.wait_step(f"{code}/1.1", "assigned")
    for unit in (COMMUNE, POLICE, INSURANCE):  # the desk's unit and every agency on the route
        reply = platform.routing.get(f"/dossiers/{code}/route", token=platform.token(unit))
        assert reply.status_code == 200, (unit, reply.text)
    stranger = platform.routing.get(f"/dossiers/{code}/route", token=platform.token(JUSTICE))
    assert stranger.status_code == 403 and stranger.json()["error"] == "not_involved"


def test_only_the_receiving_units_supervisor_reassigns(platform):
    code = platform.submit()["code"]
    platform.wait_step(f"{code}/1.1", "assigned")
    body = {"agency": JUSTICE}
    elsewhere = platform.routing.post(
        f"/steps/{code}/1.1/reassignment", json=body, token=platform.token(POLICE, "supervisor")
    )
    assert elsewhere.status_code == 403 and elsewhere.json()["error"] == "other_unit"
    assert platform.step(f"{code}/1.1")["agency_code"] == COMMUNE


def test_a_supplement_asked_at_the_desk_stops_every_agencys_clock(platform, make_token):
    code = platform.submit()["code"]
    platform.wait_step(f"{code}/1.1", "assigned")
    platform.finish(f"{code}/1.1", COMMUNE)
    platform.wait_step(f"{code}/2.2", "assigned")
    body = {"missing": MISSING, "reason": "Thiếu bản rõ nét"}
    token = make_token("reception", unit=COMMUNE)
    asked = platform.intake.post(f"/dossiers/{code}/supplement-request", json=body, token=token)
    assert asked.status_code == 200, asked.text

    platform.wait_step(f"{code}/2.1", "awaiting_supplement")
    platform.wait_step(f"{code}/2.2", "awaiting_supplement")
    again = platform.act(
        f"{code}/2.2", "supplement-request", INSURANCE, expect=409, missing=MISSING, reason="Lại"
    )
    assert again["error"] in ("supplement_already_requested", "invalid_step_status")


def test_an_agency_not_holding_the_dossier_cannot_act_on_it_at_the_desk(platform):
    code = platform.submit()["code"]
    platform.wait_step(f"{code}/1.1", "assigned")
    stranger = platform.intake.post(
        f"/dossiers/{code}/refusal",
        json={"reason": "Không thuộc thẩm quyền"},
        token=platform.token(JUSTICE),
    )
    assert stranger.status_code == 403 and stranger.json()["error"] == "other_unit"
    assert (
        platform.intake.get(f"/dossiers/{code}", token=platform.token(JUSTICE)).status_code == 403
    )
    platform.finish(f"{code}/1.1", COMMUNE)
    platform.wait_step(f"{code}/2.2", "assigned")
    platform.wait_dossier(code, "in_progress")

    def reads(unit: str) -> bool:
        return platform.intake.get(f"/dossiers/{code}", token=platform.token(unit)).ok

    # Both parallel agencies, once intake has followed their hand-overs, read it at the desk.
    platform.eventually(lambda: reads(POLICE) and reads(INSURANCE), "agencies see the dossier")
    assert not reads(JUSTICE)
