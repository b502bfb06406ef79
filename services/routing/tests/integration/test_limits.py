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
