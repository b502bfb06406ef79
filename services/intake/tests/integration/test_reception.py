"""POST /dossiers against a real container: the receipt, the event, the codes, idempotency."""

from __future__ import annotations

import re
from datetime import datetime, time
from urllib.parse import urlsplit

import eventlet
import pytest
from factories import burst, eventually, marriage_status_submission, submission, unit

pytestmark = pytest.mark.integration

BIRTH_DAYS, BIRTH_CUTOFF = 3, time(15, 0)  # the birth bundle in data/procedures.json


def path_of(url: str) -> str:
    """The public links name http://desk.test (PUBLIC_BASE_URL); ask the test server instead."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://desk.test", url
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def test_reception_answers_with_code_appointment_pin_and_location(
    intake, make_token, work_calendar
):
    desk = unit()
    reply = intake.post("/dossiers", json=submission(), token=make_token("reception", unit=desk))

    assert reply.status_code == 201, reply.text
    body = reply.json()
    received_at = datetime.fromisoformat(body["received_at"])
    assert body["code"] == f"{desk}-{received_at:%y%m%d}-0001"
    assert re.fullmatch(rf"{re.escape(desk)}-\d{{6}}-\d{{4}}", body["code"])
    assert body["status"] == "received"
    expected = work_calendar.add_working_days(received_at, BIRTH_DAYS, cutoff=BIRTH_CUTOFF)
    assert datetime.fromisoformat(body["appointment_at"]) == expected
    assert body["appointment_date"] == expected.date().isoformat()
    assert re.fullmatch(r"\d{6}", body["lookup"]["pin"])
    assert body["lookup"]["url"] == f"http://desk.test/lookup/{body['code']}"
    secret = re.fullmatch(
        rf"http://desk\.test/lookup/{re.escape(body['code'])}\?t=([\w-]{{22}})",
        body["lookup"]["link"],
    )
    assert secret, body["lookup"]["link"]
    receipt = f"http://desk.test/lookup/{body['code']}/receipt?t={secret[1]}"
    assert body["receipt"] == {"html": receipt, "pdf": receipt + "&format=pdf"}  # no PIN in URLs
    assert reply.headers["Location"] == f"/dossiers/{body['code']}"


def test_received_event_is_in_the_outbox_and_published(
    intake, make_token, outbox_events, event_tap
):
    tap = event_tap("dossier.received")  # bound before anything is published
    burst(intake)  # a service that has been serving for a while, not a fresh pool
    desk = unit()
    body = submission()
    reply = intake.post("/dossiers", json=body, token=make_token("reception", unit=desk))
    assert reply.status_code == 201, reply.text
    code = reply.json()["code"]

    rows = outbox_events(code)
    assert [r["type"] for r in rows] == ["dossier.received"]
    event = rows[0]["payload"]
    assert event["specversion"] == "1.0"
    assert event["source"] == "/motcua/intake"
    assert event["type"] == "dossier.received"
    assert event["subject"] == code
    assert event["id"] and event["time"] and event["datacontenttype"] == "application/json"
    assert event["data"]["code"] == code
    assert event["data"]["unit"] == desk
    assert event["data"]["procedure"]["code"] == "2.000986"
    assert event["data"]["applicant"]["citizen_id"] == body["applicant"]["citizen_id"]

    message = tap.wait_for("dossier.received", code)
    assert message.content_type == "application/cloudevents+json"
    assert message.properties["message_id"] == event["id"]
    assert message.decode() == event
    eventually(lambda: outbox_events(code)[0]["published_at"])  # and marked published


def test_events_are_published_when_the_relay_shares_one_connection_with_the_workers(
    make_intake, make_token, event_tap, outbox_events
):
    # With one pooled connection the relay necessarily reuses the workers' connection.
    tap = event_tap("dossier.received")
    api = make_intake(DB_POOL_SIZE=1)
    token = make_token("reception", unit=unit())
    codes = [api.post("/dossiers", json=submission(), token=token).json()["code"] for _ in range(2)]

    for code in codes:
        event = tap.wait_for("dossier.received", code).decode()
        assert event == outbox_events(code)[0]["payload"]


def test_receipt_links_serve_html_and_pdf(intake, citizen, make_token):
    token = make_token("reception", unit=unit())
    body = intake.post("/dossiers", json=submission(), token=token).json()
    code = body["code"]

    html = citizen.get(path_of(body["receipt"]["html"]))
    assert html.status_code == 200, html.text
    assert html.headers["Content-Type"].startswith("text/html")
    assert code in html.text
    pdf = citizen.get(path_of(body["receipt"]["pdf"]))
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    officer_html = intake.get(f"/dossiers/{code}/receipt", token=token)
    assert officer_html.status_code == 200, officer_html.text
    assert code in officer_html.text
    officer_pdf = intake.get(f"/dossiers/{code}/receipt?format=pdf", token=token)
    assert officer_pdf.status_code == 200, officer_pdf.text
    assert officer_pdf.content.startswith(b"%PDF")


def number_of(code: str) -> int:
    return int(code.rsplit("-", 1)[1])


def test_concurrent_submissions_get_distinct_consecutive_numbers(intake, make_token):
    token = make_token("reception", unit=unit())

    def submit(_: int) -> tuple[int, dict]:
        with type(intake)(intake.base) as session:  # one HTTP session per greenthread
            reply = session.post("/dossiers", json=submission(), token=token)
            return reply.status_code, reply.json()

    replies = list(eventlet.GreenPool(20).imap(submit, range(20)))
    assert all(status == 201 for status, _ in replies), replies
    codes = [body["code"] for _, body in replies]
    assert len(set(codes)) == 20
    assert sorted(number_of(c) for c in codes) == list(range(1, 21))


def test_more_than_9999_dossiers_a_day_still_get_unique_codes(intake, make_token, intake_sql):
    desk = unit()
    token = make_token("reception", unit=desk)
    first = intake.post("/dossiers", json=submission(), token=token).json()["code"]
    day = datetime.strptime(first.split("-")[-2], "%y%m%d").date()
    intake_sql("UPDATE dossier_counters SET last = 9999 WHERE unit = %s AND day = %s", (desk, day))

    codes = [intake.post("/dossiers", json=submission(), token=token) for _ in range(2)]
    assert [r.status_code for r in codes] == [201, 201], [r.text for r in codes]
    no_10000, no_10001 = (r.json()["code"] for r in codes)
    assert no_10000 == f"{desk}-{day:%y%m%d}-10000"
    assert no_10001 == f"{desk}-{day:%y%m%d}-10001"
    rows = intake_sql("SELECT code FROM dossiers WHERE unit = %s", (desk,))
    assert sorted(r["code"] for r in rows) == sorted([first, no_10000, no_10001])


def dossiers_of(intake_sql, desk: str) -> list[str]:
    return [r["code"] for r in intake_sql("SELECT code FROM dossiers WHERE unit = %s", (desk,))]


def test_same_idempotency_key_and_body_replays_the_same_dossier(intake, make_token, intake_sql):
    desk = unit()
    token, body, key = make_token("reception", unit=desk), submission(), {"Idempotency-Key": "k-1"}

    first = intake.post("/dossiers", json=body, token=token, headers=key)
    again = intake.post("/dossiers", json=body, token=token, headers=key)

    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text
    assert again.json()["code"] == first.json()["code"]
    assert again.json()["appointment_at"] == first.json()["appointment_at"]
    assert again.json()["replayed"] is True
    assert dossiers_of(intake_sql, desk) == [first.json()["code"]]


def test_concurrent_twins_with_one_idempotency_key_make_one_dossier(intake, make_token, intake_sql):
    desk = unit()
    token, body, key = make_token("reception", unit=desk), submission(), {"Idempotency-Key": "twin"}

    def submit(_: int) -> tuple[int, dict]:
        with type(intake)(intake.base) as session:
            reply = session.post("/dossiers", json=body, token=token, headers=key)
            return reply.status_code, reply.json()

    (status_a, a), (status_b, b) = eventlet.GreenPool(2).imap(submit, range(2))
    assert (status_a, status_b) == (201, 201), (a, b)
    assert a["code"] == b["code"]
    assert dossiers_of(intake_sql, desk) == [a["code"]]


def test_idempotency_key_reused_for_another_body_is_refused(intake, make_token, intake_sql):
    desk = unit()
    token, key = make_token("reception", unit=desk), {"Idempotency-Key": "k-2"}
    first = intake.post("/dossiers", json=submission(), token=token, headers=key)
    other = intake.post(
        "/dossiers", json=submission(return_method="post"), token=token, headers=key
    )

    assert first.status_code == 201, first.text
    assert other.status_code == 422, other.text
    assert other.json()["error"] == "idempotency_key_reused"
    assert dossiers_of(intake_sql, desk) == [first.json()["code"]]


def test_dossier_keeps_the_procedure_version_in_force(intake, make_token):
    # 1.000894 has version 1 (2016) and version 2 (from 2026-01-01), so v2 is in force now.
    token = make_token("reception", unit=unit())
    versions = intake.get("/procedures/1.000894").json()
    assert [v["version"] for v in versions["versions"]] == [1, 2]
    assert versions["version"] == 2

    reply = intake.post("/dossiers", json=marriage_status_submission(), token=token)
    assert reply.status_code == 201, reply.text
    dossier = intake.get(f"/dossiers/{reply.json()['code']}", token=token).json()
    assert dossier["procedure"]["code"] == "1.000894"
    assert dossier["procedure"]["version"] == 2
    assert dossier["procedure_version"] == 2
