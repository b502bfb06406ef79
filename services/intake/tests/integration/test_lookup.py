"""The citizen's side: status by code + PIN (in a POST body) or by the link secret, no personal
data, guesses limited per client and per dossier, the evaluation, and nothing of it in the logs."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from factories import DESK_ONLY, submission, unit
from intake.domain import lookup as lookup_domain
from motcua_kit.logs import JsonFormatter, RedactingFilter
from motcua_kit.workcal import VN_TZ

pytestmark = pytest.mark.integration

MAX_PER_CLIENT = 4
MAX_PER_DOSSIER = 3
RATINGS = {"overall": "satisfied", "staff_attitude": "very_satisfied", "on_time": "satisfied"}


@pytest.fixture
def intake_config(intake_config):
    return {
        **intake_config,
        "LOOKUP_MAX_FAILURES": MAX_PER_CLIENT,
        "LOOKUP_MAX_FAILURES_PER_DOSSIER": MAX_PER_DOSSIER,
    }


@pytest.fixture
def desk(intake, make_token):
    """Receives a dossier for a new unit: (body, reply); `desk.result_ready(code)`."""
    desk_unit = unit()
    reception = make_token("reception", unit=desk_unit)
    processing = make_token("processing", unit=desk_unit)

    def receive(procedure: str | None = None) -> tuple[dict, dict]:
        body = submission(procedure_code=procedure) if procedure else submission()
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


def secret_of(received: dict) -> str:
    [secret] = parse_qs(urlsplit(received["lookup"]["link"]).query)["t"]
    return secret


def by_pin(api, code: str, pin: str):
    return api.post(f"/lookup/{code}", json={"pin": pin})


def assert_locked(reply, now: datetime) -> datetime:
    """A 429 saying when to try again (HH:MM, Vietnam time), in `retry_at` and Retry-After."""
    assert reply.status_code == 429, reply.text
    body = reply.json()
    assert body["error"] == "too_many_attempts"
    retry_at = datetime.fromisoformat(body["retry_at"])
    assert retry_at.utcoffset() == timedelta(hours=7)
    assert f"Vui lòng thử lại lúc {retry_at.astimezone(VN_TZ):%H:%M}" in body["message"]
    assert f"try again at {retry_at:%H:%M}" in body["message_en"]
    assert now + timedelta(minutes=14) < retry_at <= now + timedelta(minutes=15, seconds=5)
    wait = int(reply.headers["Retry-After"])
    assert 14 * 60 <= wait <= 15 * 60 + 5
    assert reply.headers["Cache-Control"] == "no-store"
    return retry_at


# --- opening the dossier ---------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["json", "form"])
def test_right_pin_in_a_post_body_shows_status_without_personal_data(citizen, desk, encoding):
    body, received = desk()
    code, pin = received["code"], received["lookup"]["pin"]

    if encoding == "json":
        reply = citizen.post(f"/lookup/{code}", json={"pin": pin})
    else:  # a plain HTML form
        reply = citizen.post(f"/lookup/{code}", data={"pin": pin})
    assert reply.status_code == 200, reply.text
    status = reply.json()
    assert status["code"] == code
    assert status["status"] == "received"
    assert status["status_text"]
    assert status["appointment_at"]
    assert [m["action"] for m in status["milestones"]] == ["received"]
    assert all(m["at"] for m in status["milestones"])
    assert reply.headers["Cache-Control"] == "no-store"
    for value in body["applicant"].values():
        assert value not in reply.text, value


def test_the_pin_is_refused_in_a_url(citizen, desk):
    _, received = desk()
    code, pin = received["code"], received["lookup"]["pin"]
    reply = citizen.get(f"/lookup/{code}", params={"pin": pin})
    assert reply.status_code == 400, reply.text
    assert {p["code"] for p in reply.json()["problems"]} >= {"pin_in_url"}
    assert pin not in reply.text


def test_the_link_opens_its_dossier_without_the_pin_and_no_other(citizen, make_citizen, desk):
    _, first = desk()
    _, second = desk()
    link = first["lookup"]["link"]
    assert urlsplit(link).path == f"/lookup/{first['code']}"
    secret = secret_of(first)
    assert first["lookup"]["pin"] not in secret and secret != secret_of(second)

    opened = citizen.get(urlsplit(link).path, params={"t": secret})
    assert opened.status_code == 200, opened.text
    assert opened.json()["code"] == first["code"]
    # Right links are not failures: many opens never lock anyone out.
    for _ in range(MAX_PER_CLIENT + 1):
        assert citizen.get(f"/lookup/{first['code']}", params={"t": secret}).status_code == 200

    other = make_citizen()
    reused = other.get(f"/lookup/{second['code']}", params={"t": secret})
    assert reused.status_code == 404, reused.text
    assert reused.json()["error"] == "not_found"
    as_pin = other.post(f"/lookup/{second['code']}", json={"t": secret})  # nor in a body
    assert as_pin.status_code == 404, as_pin.text
    assert by_pin(other, second["code"], second["lookup"]["pin"]).status_code == 200


def test_lookup_gives_times_in_vietnam_time_like_the_receipt(citizen, desk):
    _, received = desk()
    status = by_pin(citizen, received["code"], received["lookup"]["pin"])
    assert status.status_code == 200, status.text

    appointment = datetime.fromisoformat(status.json()["appointment_at"])
    assert appointment == datetime.fromisoformat(received["appointment_at"])
    shown = [status.json()["appointment_at"], status.json()["received_at"]]
    shown += [m["at"] for m in status.json()["milestones"]]
    assert all(datetime.fromisoformat(t).utcoffset() == timedelta(hours=7) for t in shown), shown


def test_wrong_pin_wrong_link_and_unknown_code_get_the_same_404(citizen, desk):
    _, received = desk()
    code, pin = received["code"], received["lookup"]["pin"]

    wrong = by_pin(citizen, code, wrong_pin(pin))
    unknown = by_pin(citizen, f"{code[:-4]}9999", pin)
    bad_link = citizen.get(f"/lookup/{code}", params={"t": "A" * 22})

    assert wrong.status_code == unknown.status_code == bad_link.status_code == 404
    assert wrong.json() == unknown.json() == bad_link.json()
    assert wrong.json()["error"] == "not_found"


def test_pins_and_links_are_compared_in_constant_time(citizen, desk, monkeypatch):
    """Every check goes through hmac.compare_digest, an unknown code included (against a dummy,
    so the answer takes the same work whether the code exists or not)."""
    _, received = desk()
    code, pin = received["code"], received["lookup"]["pin"]
    compared: list[tuple[bytes, bytes]] = []
    original = lookup_domain.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(lookup_domain.hmac, "compare_digest", spy)
    expected = [
        (by_pin(citizen, code, pin), 200),
        (by_pin(citizen, code, wrong_pin(pin)), 404),
        (by_pin(citizen, f"{code[:-4]}9999", pin), 404),
        (citizen.get(f"/lookup/{code}", params={"t": secret_of(received)}), 200),
        (citizen.get(f"/lookup/{code}", params={"t": "A" * 22}), 404),
    ]
    assert [r.status_code for r, _ in expected] == [s for _, s in expected]
    assert len(compared) == len(expected)
    assert all(len(a) == len(b) for a, b in compared)


# --- guessing is limited ----------------------------------------------------------------------


def test_one_client_is_locked_out_after_wrong_pins_on_several_dossiers(citizen, make_citizen, desk):
    """Per client address: wrong PINs spread over dossiers add up; then even a right PIN, on a
    dossier it never tried, is refused until the time said."""
    dossiers = [desk()[1] for _ in range(MAX_PER_CLIENT + 1)]
    started = datetime.now(VN_TZ)
    for received in dossiers[:MAX_PER_CLIENT]:  # one wrong PIN each: no dossier is locked
        reply = by_pin(citizen, received["code"], wrong_pin(received["lookup"]["pin"]))
        assert reply.status_code == 404, reply.text

    fresh = dossiers[-1]
    locked = by_pin(citizen, fresh["code"], fresh["lookup"]["pin"])
    assert_locked(locked, started)
    assert (
        citizen.get(f"/lookup/{fresh['code']}", params={"t": secret_of(fresh)}).status_code == 429
    )
    receipt = citizen.post(f"/lookup/{fresh['code']}/receipt", json={"pin": fresh["lookup"]["pin"]})
    assert receipt.status_code == 429, receipt.text

    other_client = make_citizen()  # another address is not locked out, on any of them
    for received in dossiers:
        assert by_pin(other_client, received["code"], received["lookup"]["pin"]).status_code == 200


def test_one_dossier_is_locked_after_wrong_pins_from_several_clients(make_citizen, desk):
    """Per dossier: guesses shared out among addresses add up too, and a lock on a code that
    does not exist looks exactly the same (it says nothing of existence)."""
    _, received = desk()
    code, pin = received["code"], received["lookup"]["pin"]
    unknown = f"{unit()}-250702-0001"
    started = datetime.now(VN_TZ)
    for _ in range(MAX_PER_DOSSIER):  # each client guesses once: no client is locked
        guesser = make_citizen()
        assert by_pin(guesser, code, wrong_pin(pin)).status_code == 404
        assert by_pin(guesser, unknown, pin).status_code == 404

    citizen = make_citizen()
    locked = by_pin(citizen, code, pin)  # the right PIN, from a clean address
    locked_unknown = by_pin(make_citizen(), unknown, pin)
    assert_locked(locked, started)
    assert_locked(locked_unknown, started)
    assert set(locked.json()) == set(locked_unknown.json())
    assert locked.json()["message"] == locked_unknown.json()["message"]
    evaluation = citizen.post(f"/lookup/{code}/evaluation", json={"pin": pin, "ratings": RATINGS})
    assert evaluation.status_code == 429, evaluation.text

    # The link is no PIN to guess: it still opens the dossier its citizen holds.
    opened = citizen.get(f"/lookup/{code}", params={"t": secret_of(received)})
    assert opened.status_code == 200, opened.text


def test_a_wrong_link_counts_as_a_failure(make_citizen, desk):
    _, received = desk()
    code = received["code"]
    for _ in range(MAX_PER_DOSSIER):
        assert make_citizen().get(f"/lookup/{code}", params={"t": "B" * 22}).status_code == 404
    assert by_pin(make_citizen(), code, received["lookup"]["pin"]).status_code == 429


def test_the_lock_ends_at_the_time_said(make_intake, make_token, make_citizen):
    api = make_intake(LOOKUP_WINDOW_MINUTES=0.05, LOOKUP_MAX_FAILURES=2)  # a 3-second window
    reply = api.post("/dossiers", json=submission(), token=make_token("reception", unit=unit()))
    code, pin = reply.json()["code"], reply.json()["lookup"]["pin"]
    citizen = make_citizen()
    citizen.base = api.base
    for _ in range(2):
        assert by_pin(citizen, code, wrong_pin(pin)).status_code == 404
    locked = by_pin(citizen, code, pin)
    assert locked.status_code == 429, locked.text
    retry_at = datetime.fromisoformat(locked.json()["retry_at"])
    assert 1 <= int(locked.headers["Retry-After"]) <= 4

    time.sleep(max(0.0, (retry_at - datetime.now(VN_TZ)).total_seconds()) + 0.3)
    assert by_pin(citizen, code, pin).status_code == 200


# --- the receipt and the evaluation -------------------------------------------------------------


def test_receipt_by_link_and_by_pin(citizen, desk):
    _, received = desk()
    code, pin = received["code"], received["lookup"]["pin"]

    by_link = citizen.get(f"/lookup/{code}/receipt", params={"t": secret_of(received)})
    assert by_link.status_code == 200, by_link.text
    assert by_link.headers["Content-Type"].startswith("text/html")
    assert by_link.headers["Referrer-Policy"] == "no-referrer"
    assert received["lookup"]["link"] in by_link.text  # printed, and in the QR code
    assert "Mã tra cứu (PIN)" not in by_link.text  # the link's page cannot know the PIN

    typed = citizen.post(f"/lookup/{code}/receipt", json={"pin": pin})
    assert typed.status_code == 200, typed.text
    assert f'Mã tra cứu (PIN): <span class="value">{pin}</span>' in typed.text
    pdf = citizen.post(f"/lookup/{code}/receipt", data={"pin": pin, "format": "pdf"})
    assert pdf.status_code == 200, pdf.text
    assert pdf.content.startswith(b"%PDF")
    wrong = citizen.post(f"/lookup/{code}/receipt", json={"pin": wrong_pin(pin)})
    assert wrong.status_code == 404, wrong.text
    assert wrong.json()["error"] == "not_found"


def test_evaluation_only_once_and_only_after_the_result(citizen, desk, outbox_events):
    _, received = desk(DESK_ONLY)  # no route: the desk marks the result itself
    code, pin = received["code"], received["lookup"]["pin"]
    evaluation = {"pin": pin, "ratings": RATINGS, "comment": "Cán bộ hướng dẫn tận tình"}

    early = citizen.post(f"/lookup/{code}/evaluation", json=evaluation)
    assert early.status_code == 409, early.text
    assert early.json()["error"] == "not_evaluable_yet"

    desk.result_ready(code)
    first = citizen.post(f"/lookup/{code}/evaluation", json=evaluation)
    assert first.status_code == 201, first.text
    assert first.json() == {"code": code, "evaluated": True}
    by_link = {"t": secret_of(received), "ratings": RATINGS}
    second = citizen.post(f"/lookup/{code}/evaluation", json=by_link)
    assert second.status_code == 409, second.text
    assert second.json()["error"] == "already_evaluated"

    evaluated = [r["payload"] for r in outbox_events(code) if r["type"] == "dossier.evaluated"]
    assert len(evaluated) == 1
    assert evaluated[0]["data"]["ratings"] == RATINGS
    assert evaluated[0]["subject"] == code
    milestones = by_pin(citizen, code, pin).json()["milestones"]
    assert [m["action"] for m in milestones] == ["received", "result_ready", "evaluated"]


def test_evaluation_with_the_link_and_with_a_wrong_pin(citizen, desk, outbox_events):
    _, received = desk(DESK_ONLY)  # no route: the desk marks the result itself
    code, pin = received["code"], received["lookup"]["pin"]
    desk.result_ready(code)

    reply = citizen.post(
        f"/lookup/{code}/evaluation", json={"pin": wrong_pin(pin), "ratings": RATINGS}
    )
    assert reply.status_code == 404, reply.text
    assert "dossier.evaluated" not in [r["type"] for r in outbox_events(code)]
    by_link = {"t": secret_of(received), "ratings": RATINGS}
    assert citizen.post(f"/lookup/{code}/evaluation", json=by_link).status_code == 201


# --- nothing of it in the logs ----------------------------------------------------------------


def test_no_pin_or_identifier_reaches_the_logs_of_lookups(citizen, make_citizen, desk, caplog):
    """The sources log no PIN, citizen ID, phone or email (the records as emitted, before any
    masking); and what the services write — through config.yml's filter and formatter — masks
    even a PIN someone put in a URL, and the link secrets of the access log."""
    caplog.set_level(logging.DEBUG)
    body, received = desk()
    code, pin = received["code"], received["lookup"]["pin"]
    applicant = body["applicant"]
    by_pin(citizen, code, pin)
    by_pin(citizen, code, wrong_pin(pin))
    citizen.post(f"/lookup/{code}", data={"pin": pin})
    citizen.post(f"/lookup/{code}/receipt", json={"pin": pin})
    citizen.get(f"/lookup/{code}", params={"t": secret_of(received)})
    citizen.post(f"/lookup/{code}/evaluation", json={"pin": pin, "ratings": RATINGS})
    for _ in range(MAX_PER_CLIENT):
        by_pin(citizen, code, wrong_pin(pin))  # until locked
    assert by_pin(citizen, code, pin).status_code == 429

    secrets = [pin, applicant["citizen_id"], applicant["phone"], applicant["email"]]
    lines = [emitted(r) for r in caplog.records]
    assert any(f"/lookup/{code}" in line for line in lines), "the access log was captured"
    for line in lines:
        for secret in secrets:
            assert secret not in line, line

    misuse = make_citizen()
    misuse.get(f"/lookup/{code}", params={"pin": pin})  # refused, but its URL was logged
    formatter, masking = JsonFormatter(), RedactingFilter()
    written = [formatter.format(r) for r in caplog.records if masking.filter(r)]
    assert any("pin=[pin]" in line for line in written), "the misused URL was masked"
    for line in written:
        for secret in [*secrets, secret_of(received)]:
            assert secret not in line, line


def emitted(record: logging.LogRecord) -> str:
    """Everything a handler could write of `record`: message, extra fields, exception."""
    text = [record.getMessage(), repr(vars(record))]
    if record.exc_info:
        text.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(text)
