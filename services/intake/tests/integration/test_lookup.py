"""The citizen's side: status by code + PIN (no personal data), guess limiting, evaluation."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from factories import submission, unit

pytestmark = pytest.mark.integration

MAX_FAILURES = 3
RATINGS = {"overall": "satisfied", "staff_attitude": "very_satisfied", "on_time": "satisfied"}


@pytest.fixture
def intake_config(intake_config):
    return {**intake_config, "LOOKUP_MAX_FAILURES": MAX_FAILURES}


@pytest.fixture
def desk(intake, make_token):
    """Receives a dossier for a new unit: (reception token, processing token, body, reply)."""
    desk_unit = unit()
    reception = make_token("reception", unit=desk_unit)
    processing = make_token("processing", unit=desk_unit)

    def receive() -> tuple[dict, dict]:
        body = submission()
        reply = intake.post("/dossiers", json=body, token=reception)
        assert reply.status_code == 201, reply.text
        return body, reply.json()

    def result_ready(code: str) -> None:
        reply = intake.post(
            f"/dossiers/{code}/result", json={"result_reference": "KQ-1"}, token=processing
        )
        assert reply.status_code == 200, reply.text

    receive.result_ready = result_ready  # type: ignore[attr-defined]
    return receive


def wrong_pin(pin: str) -> str:
    return f"{(int(pin) + 1) % 1_000_000:06d}"


def test_right_pin_shows_status_and_milestones_without_personal_data(citizen, desk):
    body, received = desk()
    code, pin = received["code"], received["lookup"]["pin"]

    reply = citizen.get(f"/lookup/{code}", params={"pin": pin})
    assert reply.status_code == 200, reply.text
    status = reply.json()
    assert status["code"] == code
    assert status["status"] == "received"
    assert status["status_text"]
    assert status["appointment_at"]
    assert [m["action"] for m in status["milestones"]] == ["received"]
    assert all(m["at"] for m in status["milestones"])
    for value in body["applicant"].values():
        assert value not in reply.text, value


def test_lookup_gives_times_in_vietnam_time_like_the_receipt(citizen, desk):
    _, received = desk()
    status = citizen.get(f"/lookup/{received['code']}", params={"pin": received["lookup"]["pin"]})
    assert status.status_code == 200, status.text

    appointment = datetime.fromisoformat(status.json()["appointment_at"])
    assert appointment == datetime.fromisoformat(received["appointment_at"])
    shown = [status.json()["appointment_at"], status.json()["received_at"]]
    shown += [m["at"] for m in status.json()["milestones"]]
    assert all(datetime.fromisoformat(t).utcoffset() == timedelta(hours=7) for t in shown), shown


def test_wrong_pin_and_unknown_code_get_the_same_404(citizen, desk):
    _, received = desk()
    code, pin = received["code"], received["lookup"]["pin"]

    wrong = citizen.get(f"/lookup/{code}", params={"pin": wrong_pin(pin)})
    unknown = citizen.get(f"/lookup/{code[:-4]}9999", params={"pin": pin})

    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"] == "not_found"


def test_too_many_failures_lock_the_client_out(citizen, make_citizen, desk):
    _, received = desk()
    code, pin = received["code"], received["lookup"]["pin"]

    for _ in range(MAX_FAILURES):
        assert citizen.get(f"/lookup/{code}", params={"pin": wrong_pin(pin)}).status_code == 404
    locked = citizen.get(f"/lookup/{code}", params={"pin": pin})  # even the right PIN now
    assert locked.status_code == 429, locked.text
    assert locked.json()["error"] == "too_many_attempts"
    receipt = citizen.get(f"/lookup/{code}/receipt", params={"pin": pin})
    assert receipt.status_code == 429, receipt.text

    other_client = make_citizen()  # another address is not locked out
    assert other_client.get(f"/lookup/{code}", params={"pin": pin}).status_code == 200


def test_receipt_with_a_wrong_pin_is_404(citizen, desk):
    _, received = desk()
    code, pin = received["code"], received["lookup"]["pin"]
    reply = citizen.get(f"/lookup/{code}/receipt", params={"pin": wrong_pin(pin)})
    assert reply.status_code == 404, reply.text
    assert reply.json()["error"] == "not_found"


def test_evaluation_only_once_and_only_after_the_result(citizen, desk, outbox_events):
    _, received = desk()
    code, pin = received["code"], received["lookup"]["pin"]
    evaluation = {"pin": pin, "ratings": RATINGS, "comment": "Cán bộ hướng dẫn tận tình"}

    early = citizen.post(f"/lookup/{code}/evaluation", json=evaluation)
    assert early.status_code == 409, early.text
    assert early.json()["error"] == "not_evaluable_yet"

    desk.result_ready(code)
    first = citizen.post(f"/lookup/{code}/evaluation", json=evaluation)
    assert first.status_code == 201, first.text
    assert first.json() == {"code": code, "evaluated": True}
    second = citizen.post(f"/lookup/{code}/evaluation", json=evaluation)
    assert second.status_code == 409, second.text
    assert second.json()["error"] == "already_evaluated"

    evaluated = [r["payload"] for r in outbox_events(code) if r["type"] == "dossier.evaluated"]
    assert len(evaluated) == 1
    assert evaluated[0]["data"]["ratings"] == RATINGS
    assert evaluated[0]["subject"] == code
    milestones = citizen.get(f"/lookup/{code}", params={"pin": pin}).json()["milestones"]
    assert [m["action"] for m in milestones] == ["received", "result_ready", "evaluated"]


def test_evaluation_with_a_wrong_pin_is_404(citizen, desk, outbox_events):
    _, received = desk()
    code, pin = received["code"], received["lookup"]["pin"]
    desk.result_ready(code)

    reply = citizen.post(
        f"/lookup/{code}/evaluation", json={"pin": wrong_pin(pin), "ratings": RATINGS}
    )
    assert reply.status_code == 404, reply.text
    assert "dossier.evaluated" not in [r["type"] for r in outbox_events(code)]
