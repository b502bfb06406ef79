"""notification's HTTP API keeps its promises to callers: a bad webhook subscription is refused
naming every problem (never a 500), only the right roles get in, templates list and preview with
SMS segment counts, the delivery log is shown masked and to the units involved only, and the SMS
gateway's delivery reports are authenticated and recorded."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from motcua_kit.testing import eventually
from notification_helpers import factories, received_data

pytestmark = pytest.mark.integration

SMS_REPORT_TOKEN = "test-sms-report-token"  # conftest's (a conftest cannot be imported)
SAMPLE_CODE = "000.00.08.H38-250702-0001"  # domain/samples.py
GOOD = {
    "name": "Hệ thống hộ tịch",
    "url": "https://simulator.motcua.invalid/delivered",  # test mode: accepted without DNS
    "event_types": ["dossier.received"],
}


def fields(reply: Any) -> set[str]:
    return {p["field"] for p in reply.json()["problems"]}


@pytest.fixture
def admin(make_token: Callable[..., str]) -> str:
    return make_token("admin", unit="000.00.00.G00")


@pytest.fixture
def supervisor(make_token: Callable[..., str]) -> str:
    return make_token("supervisor", unit=factories.unit())


# --- POST /webhooks: refusals -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        ({}, {"name", "url", "event_types"}),
        (
            {"name": "", "url": "ftp://x", "event_types": [], "secret": "short"},
            {"name", "url", "event_types", "secret"},
        ),
        (
            {"name": "x", "url": "not a url", "event_types": ["dossier.received", "Dossier!"]},
            {"url", "event_types.1"},
        ),
        ({**GOOD, "event_types": ["dossier.**"]}, {"event_types.0"}),
        ({**GOOD, "secret": "s" * 31}, {"secret"}),
        ({**GOOD, "event_types": "dossier.received"}, {"event_types"}),
        ({**GOOD, "name": None, "url": None, "event_types": None}, {"name", "url", "event_types"}),
    ],
)
def test_a_bad_subscription_is_refused_naming_every_problem(
    notification, admin, notification_sql, body, problems
):
    before = notification_sql("SELECT count(*) AS n FROM webhook_subscribers")[0]["n"]
    reply = notification.post("/webhooks", json=body, token=admin)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"] == "validation_failed"
    assert fields(reply) == problems
    assert all(p["code"] and p["message"] for p in reply.json()["problems"])
    assert notification_sql("SELECT count(*) AS n FROM webhook_subscribers")[0]["n"] == before


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42", b"null", b"", b'[{"name": "x"}]'])
def test_a_subscription_that_is_not_an_object_is_400(notification, admin, body):
    headers = {"Content-Type": "application/json"}
    reply = notification.post("/webhooks", data=body, headers=headers, token=admin)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"] == "malformed_json"


def test_a_malformed_or_non_json_body_is_refused(notification, admin):
    reply = notification.post(
        "/webhooks",
        data=b'{"name": ',
        headers={"Content-Type": "application/json"},
        token=admin,
    )
    assert reply.status_code == 400 and reply.json()["error"] == "malformed_json"
    for data, content_type in (
        (b"name=x&url=https://a.example", "application/x-www-form-urlencoded"),
        (b'{"name": "x"}', "text/plain"),
    ):
        reply = notification.post(
            "/webhooks", data=data, headers={"Content-Type": content_type}, token=admin
        )
        assert reply.status_code == 415, reply.text
        assert reply.json()["error"] == "unsupported_media_type"


def test_webhooks_are_for_admins_only(notification, make_token):
    reply = notification.post("/webhooks", json=GOOD)
    assert reply.status_code == 401, reply.text
    reply = notification.post("/webhooks", json=GOOD, headers={"Authorization": "Bearer nope"})
    assert reply.status_code == 401, reply.text
    for role in ("processing", "reception", "supervisor"):
        token = make_token(role, unit=factories.unit())
        reply = notification.post("/webhooks", json=GOOD, token=token)
        assert reply.status_code == 403, (role, reply.text)
        assert reply.json()["error"] == "forbidden"
        assert notification.get("/webhooks", token=token).status_code == 403


def test_a_good_subscription_is_created_and_its_secret_shown_once(notification, admin):
    secret = "k" * 40
    reply = notification.post("/webhooks", json={**GOOD, "secret": secret}, token=admin)
    assert reply.status_code == 201, reply.text
    created = reply.json()
    try:
        assert created["secret"] == secret
        assert uuid.UUID(created["id"])
        assert created["state"] == "active" and created["url"] == GOOD["url"]
        shown = notification.get(f"/webhooks/{created['id']}", token=admin)
        assert shown.status_code == 200 and "secret" not in shown.json()
        listed = notification.get("/webhooks", token=admin).json()["subscribers"]
        assert all("secret" not in s for s in listed)
        assert notification.get(f"/webhooks/{uuid.uuid4()}", token=admin).status_code == 404
        assert notification.get("/webhooks/not-a-uuid", token=admin).status_code == 404
    finally:  # the database outlives the test: leave no active subscriber behind
        assert notification.delete(f"/webhooks/{created['id']}", token=admin).status_code == 200


# --- templates ----------------------------------------------------------------------------------


def test_the_template_list(notification, supervisor, admin, make_token):
    reply = notification.get("/templates", token=supervisor)
    assert reply.status_code == 200, reply.text
    templates = reply.json()["templates"]
    assert len(templates) == 32
    keys = {(t["message"], t["channel"], t["language"]) for t in templates}
    assert len(keys) == 32
    assert {t["language"] for t in templates} == {"vi", "en"}
    assert {t["source"] for t in templates} == {"default"}
    assert ("receipt", "sms", "vi") in keys and ("webhook_suspended", "email", "en") in keys
    assert ("task_assigned", "sms", "vi") not in keys  # officers are emailed only
    receipt = next(t for t in templates if (t["message"], t["channel"]) == ("receipt", "sms"))
    assert receipt["fields"] == [
        "code",
        "applicant_name",
        "procedure_name",
        "lookup_url",
        "received_date",
        "due_date",
        "due_time",
        "pin",
    ]
    assert all(t["fields"] for t in templates)
    assert notification.get("/templates", token=admin).status_code == 200
    token = make_token("reception", unit=factories.unit())
    assert notification.get("/templates", token=token).status_code == 403
    assert notification.get("/templates").status_code == 401


def test_an_sms_preview_counts_segments_accented_and_not(notification, supervisor):
    reply = notification.get("/templates/receipt/sms/vi/preview", token=supervisor)
    assert reply.status_code == 200, reply.text
    preview = reply.json()
    body = preview["body"]
    assert SAMPLE_CODE in body and "482913" in body and "tiếp nhận" in body
    assert preview["subject"] is None

    sms = preview["sms"]
    assert sms["text"] == body and sms["encoding"] == "UCS-2"
    assert sms["characters"] == len(body.encode("utf-16-le")) // 2
    assert sms["segments"] == (1 if sms["characters"] <= 70 else math.ceil(sms["characters"] / 67))

    plain = preview["unaccented"]
    assert plain["encoding"] == "GSM-7"
    assert "tiep nhan" in plain["text"] and SAMPLE_CODE in plain["text"]
    assert plain["text"].isascii()
    assert 1 <= plain["segments"] <= sms["segments"]
    assert plain["segments"] == (
        1 if plain["characters"] <= 160 else math.ceil(plain["characters"] / 153)
    )


def test_an_email_preview_has_a_subject(notification, supervisor):
    reply = notification.get("/templates/receipt/email/en/preview", token=supervisor)
    assert reply.status_code == 200, reply.text
    assert SAMPLE_CODE in reply.json()["subject"]
    assert "sms" not in reply.json()


def test_a_preview_with_facts_of_ones_own(notification, supervisor):
    path = "/templates/receipt/sms/vi/preview"
    reply = notification.post(path, json={"facts": {"pin": "999999"}}, token=supervisor)
    assert reply.status_code == 200, reply.text
    assert "999999" in reply.json()["body"] and "482913" not in reply.json()["body"]
    assert SAMPLE_CODE in reply.json()["body"]  # the other facts stay the samples

    reply = notification.post(path, json={}, token=supervisor)
    assert reply.status_code == 200 and "482913" in reply.json()["body"]

    reply = notification.post(path, json={"facts": {"nope": 1, "pin": "1"}}, token=supervisor)
    assert reply.status_code == 422, reply.text
    assert fields(reply) == {"facts.nope"}

    reply = notification.post(path, json={"facts": "pin"}, token=supervisor)
    assert reply.status_code == 400, reply.text
    assert fields(reply) == {"facts"}


@pytest.mark.parametrize(
    "path",
    [
        "/templates/nothing/sms/vi/preview",
        "/templates/receipt/fax/vi/preview",
        "/templates/receipt/sms/fr/preview",
        "/templates/task_assigned/sms/vi/preview",
    ],
)
def test_an_unknown_template_is_404(notification, supervisor, path):
    assert notification.get(path, token=supervisor).status_code == 404
    reply = notification.post(path, json={"facts": {}}, token=supervisor)
    assert reply.status_code == 404, reply.text


# --- the delivery log ---------------------------------------------------------------------------


def received(publisher: Any, deliveries: Callable[..., Any], **overrides: Any) -> dict[str, Any]:
    """Publish a dossier.received and wait until both receipts (email, SMS) are sent."""
    data = received_data(**overrides)
    publisher.event("intake", "dossier.received", data)
    eventually(
        lambda: [r["state"] for r in deliveries(data["code"])] == ["sent", "sent"],
        "both receipts sent",
    )
    return data


def test_the_delivery_log_is_masked_and_for_the_units_involved(
    notification, make_token, publisher, deliveries, gateway, smtp
):
    unit = factories.unit()
    data = received(publisher, deliveries, unit=unit)
    code, email, phone = data["code"], data["applicant"]["email"], data["applicant"]["phone"]

    reply = notification.get(
        f"/notifications?dossier={code}", token=make_token("reception", unit=unit)
    )
    assert reply.status_code == 200, reply.text
    log = reply.json()
    assert log["dossier"] == code
    shown = {entry["channel"]: entry for entry in log["notifications"]}
    assert set(shown) == {"email", "sms"}
    assert shown["email"]["recipient"] == f"{email[0]}***@example.vn"
    assert shown["sms"]["recipient"] == phone[:3] + "****" + phone[-3:]
    assert email not in reply.text and phone not in reply.text
    assert {e["template"] for e in log["notifications"]} == {"receipt"}
    assert {e["state"] for e in log["notifications"]} == {"sent"}
    assert all(e["attempts"] == 1 and e["sent_at"] for e in log["notifications"])
    assert "body" not in shown["sms"]  # the log says what happened, not the PIN it carried
    assert data["lookup"]["pin"] not in reply.text

    other = make_token("processing", unit=factories.unit())
    reply = notification.get(f"/notifications?dossier={code}", token=other)
    assert reply.status_code == 404, reply.text

    admin = make_token("admin", unit="000.00.00.G00")
    reply = notification.get(f"/notifications?dossier={code}", token=admin)
    assert reply.status_code == 200 and len(reply.json()["notifications"]) == 2

    unknown = f"T{uuid.uuid4().hex[:8].upper()}-250702-0001"
    assert notification.get(f"/notifications?dossier={unknown}", token=admin).status_code == 404


def test_the_delivery_log_needs_a_dossier_and_an_officer(notification, make_token):
    token = make_token("reception", unit=factories.unit())
    reply = notification.get("/notifications", token=token)
    assert reply.status_code == 400, reply.text
    assert fields(reply) == {"dossier"}
    assert notification.get("/notifications?dossier=x", token=token).status_code == 400
    assert notification.get("/notifications?dossier=T1234-250702-0001").status_code == 401


# --- SMS delivery reports -----------------------------------------------------------------------


def report(api: Any, body: Any, token: str | None = SMS_REPORT_TOKEN) -> Any:
    headers = {"X-Motcua-Token": token} if token is not None else {}
    return api.post("/sms/delivery-reports", json=body, headers=headers)


def test_sms_delivery_reports(notification, gateway, publisher, deliveries, notification_sql):
    gateway_id = f"gw-{uuid.uuid4().hex}"
    gateway.program("/sms", [200], body={"id": gateway_id, "status": "accepted"})
    data = received(publisher, deliveries)
    [sms] = [r for r in deliveries(data["code"]) if r["channel"] == "sms"]
    assert sms["provider_id"] == gateway_id and sms["delivered_at"] is None

    delivered = {"id": gateway_id, "status": "delivered"}
    assert report(notification, delivered, token=None).status_code == 401
    assert report(notification, delivered, token="wrong").status_code == 401
    assert report(notification, delivered, token="").status_code == 401
    assert notification_sql("SELECT state FROM deliveries WHERE id = %s", (sms["id"],)) == [
        {"state": "sent"}
    ]

    reply = report(notification, {"id": gateway_id, "status": "lost"})
    assert reply.status_code == 400, reply.text
    assert fields(reply) == {"status"}
    reply = report(notification, {})
    assert reply.status_code == 400 and fields(reply) == {"id", "status"}

    reply = report(notification, {"id": f"gw-{uuid.uuid4().hex}", "status": "delivered"})
    assert reply.status_code == 404, reply.text

    reply = report(notification, delivered)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"id": str(sms["id"]), "state": "delivered"}
    [row] = notification_sql("SELECT * FROM deliveries WHERE id = %s", (sms["id"],))
    assert row["state"] == "delivered" and row["delivered_at"] is not None
    assert row["failure"] is None

    # The same report again finds nothing waiting for it (the gateway may stop retrying).
    assert report(notification, delivered).status_code == 404
