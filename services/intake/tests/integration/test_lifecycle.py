"""A dossier's life after reception: supplements, refusal, withdrawal, result, return, history."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from factories import DESK_ONLY, submission, unit

pytestmark = pytest.mark.integration

SUPPLEMENT_REQUEST = {
    "missing": [
        {"document_code": "giay-chung-sinh", "description": "Bản chính giấy chứng sinh"},
        {"description": "Chữ ký của người đi khai trên tờ khai"},
    ],
    "reason": "Hồ sơ thiếu bản chính và chữ ký",
}
SUPPLEMENTS = {"documents": [{"code": "giay-chung-sinh", "copies": 1}], "note": "Đã bổ sung"}
RESULT = {"result_reference": "123/GKS-UBND", "electronic": False}


class Desk:
    """A unit's reception and processing officers, and the dossiers they handle."""

    def __init__(self, intake, make_token) -> None:
        self.api = intake
        self.unit = unit()
        self.reception = make_token("reception", unit=self.unit, officer="rec-1")
        self.processing = make_token("processing", unit=self.unit, officer="proc-1")

    def receive(self, procedure: str | None = None) -> dict:
        body = submission(procedure_code=procedure) if procedure else submission()
        reply = self.api.post("/dossiers", json=body, token=self.reception)
        assert reply.status_code == 201, reply.text
        return reply.json()

    def act(self, code: str, action: str, body: dict, officer: str = "processing"):
        token = self.processing if officer == "processing" else self.reception
        reply = self.api.post(f"/dossiers/{code}/{action}", json=body, token=token)
        assert reply.status_code < 500, reply.text
        return reply

    def dossier(self, code: str) -> dict:
        reply = self.api.get(f"/dossiers/{code}", token=self.reception)
        assert reply.status_code == 200, reply.text
        return reply.json()


@pytest.fixture
def desk(intake, make_token) -> Desk:
    return Desk(intake, make_token)


def types_of(outbox_events, code: str) -> list[str]:
    return [row["type"] for row in outbox_events(code)]


def test_supplement_request_stops_the_clock_and_supplements_restart_it(
    desk, outbox_events, intake_sql, work_calendar
):
    received = desk.receive()
    code, original = received["code"], datetime.fromisoformat(received["appointment_at"])

    asked = desk.act(code, "supplement-request", SUPPLEMENT_REQUEST)
    assert asked.status_code == 200, asked.text
    assert asked.json()["status"] == "awaiting_supplement"
    assert desk.dossier(code)["status"] == "awaiting_supplement"
    event = outbox_events(code)[-1]["payload"]
    assert event["type"] == "dossier.supplement_requested"
    assert [m["description"] for m in event["data"]["missing"]] == [
        m["description"] for m in SUPPLEMENT_REQUEST["missing"]
    ]
    again = desk.act(code, "supplement-request", SUPPLEMENT_REQUEST)
    assert again.status_code == 409, again.text
    [paused] = intake_sql("SELECT remaining_seconds FROM dossiers WHERE code = %s", (code,))
    assert paused["remaining_seconds"] > 0

    back = desk.act(code, "supplements", SUPPLEMENTS, officer="reception")
    assert back.status_code == 200, back.text
    assert back.json()["status"] == "received"
    moved = datetime.fromisoformat(back.json()["appointment_at"])
    assert moved >= original
    resumed = outbox_events(code)[-1]["payload"]
    assert resumed["type"] == "dossier.supplemented"
    resumed_at = datetime.fromisoformat(resumed["data"]["at"])
    remaining = timedelta(seconds=paused["remaining_seconds"])
    assert moved == work_calendar.add_working_time(resumed_at, remaining)
    assert datetime.fromisoformat(resumed["data"]["due_at"]) == moved
    assert resumed["data"]["paused_working_days"] >= 0

    once_more = desk.act(code, "supplement-request", SUPPLEMENT_REQUEST)
    assert once_more.status_code == 409, once_more.text
    assert once_more.json()["error"] == "supplement_already_requested"


def test_refusal_ends_the_dossier(desk, outbox_events):
    code = desk.receive()["code"]
    refused = desk.act(code, "refusal", {"reason": "Không thuộc thẩm quyền giải quyết"})
    assert refused.status_code == 200, refused.text
    assert refused.json()["status"] == "refused"

    for action, body in (("result", RESULT), ("supplement-request", SUPPLEMENT_REQUEST)):
        late = desk.act(code, action, body)
        assert late.status_code == 409, late.text
        assert late.json()["error"] == "invalid_status"
    assert desk.dossier(code)["status"] == "refused"
    assert types_of(outbox_events, code) == ["dossier.received", "dossier.refused"]
    assert outbox_events(code)[-1]["payload"]["data"]["reason"] == (
        "Không thuộc thẩm quyền giải quyết"
    )


def test_withdrawal_ends_the_dossier(desk, outbox_events):
    code = desk.receive()["code"]
    withdrawn = desk.act(code, "withdrawal", {"reason": "Công dân xin rút"}, officer="reception")
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"

    late = desk.act(code, "result", RESULT)
    assert late.status_code == 409, late.text
    assert desk.dossier(code)["status"] == "withdrawn"
    assert types_of(outbox_events, code) == ["dossier.received", "dossier.withdrawn"]


def test_result_then_return_publishes_timeliness(desk, event_tap, outbox_events):
    tap = event_tap("dossier.returned")
    code = desk.receive(DESK_ONLY)["code"]  # no route: the receiving unit marks the result

    ready = desk.act(code, "result", RESULT)
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "result_ready"
    returned = desk.act(code, "return", {"method": "desk"}, officer="reception")
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "returned"
    twice = desk.act(code, "return", {"method": "desk"}, officer="reception")
    assert twice.status_code == 409, twice.text

    event = tap.wait_for("dossier.returned", code).decode()
    # Ready the day it was received, three working days before the appointment.
    assert event["data"]["timeliness"] == "early"
    assert event["data"]["method"] == "desk"
    assert event["id"] == outbox_events(code)[-1]["payload"]["id"]


def test_history_and_events_record_every_action(desk, intake, make_token, outbox_events):
    code = desk.receive(DESK_ONLY)["code"]
    steps = [
        ("supplement-request", SUPPLEMENT_REQUEST, "processing"),
        ("supplements", SUPPLEMENTS, "reception"),
        ("result", RESULT, "processing"),
        ("return", {"method": "desk"}, "reception"),
    ]
    for action, body, officer in steps:
        reply = desk.act(code, action, body, officer=officer)
        assert reply.status_code == 200, (action, reply.text)

    history = intake.get(f"/dossiers/{code}/history", token=desk.reception)
    assert history.status_code == 200, history.text
    actions = history.json()["actions"]
    assert [(a["action"], a["actor"]["id"]) for a in actions] == [
        ("received", "rec-1"),
        ("supplement_requested", "proc-1"),
        ("supplemented", "rec-1"),
        ("result_ready", "proc-1"),
        ("returned", "rec-1"),
    ]
    times = [datetime.fromisoformat(a["at"]) for a in actions]
    assert times == sorted(times)
    assert all(a["actor"]["unit"] == desk.unit for a in actions)

    assert types_of(outbox_events, code) == [
        "dossier.received",
        "dossier.supplement_requested",
        "dossier.supplemented",
        "dossier.result_ready",
        "dossier.returned",
    ]
    for row in outbox_events(code):
        assert row["payload"]["subject"] == code
        assert row["payload"]["data"]["code"] == code


def test_actions_on_an_unknown_dossier_are_404(desk):
    reply = desk.act(f"{desk.unit}-261126-9999", "refusal", {"reason": "Không rõ"})
    assert reply.status_code == 404, reply.text
    assert reply.json()["error"] == "not_found"


def test_transitions_answer_in_vietnam_time_like_reception(desk):
    received = desk.receive()
    reply = desk.act(received["code"], "supplement-request", SUPPLEMENT_REQUEST)
    assert reply.status_code == 200, reply.text

    appointment = datetime.fromisoformat(reply.json()["appointment_at"])
    assert appointment == datetime.fromisoformat(received["appointment_at"])
    assert appointment.utcoffset() == timedelta(hours=7), reply.json()["appointment_at"]
