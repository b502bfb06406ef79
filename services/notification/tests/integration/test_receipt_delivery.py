"""The issue's first promise: a dossier received at the desk yields one receipt email and one SMS,
with the right code and appointment date, and a redelivered event yields nothing more."""

from __future__ import annotations

import json
import time

import pytest
from motcua_kit.testing import eventually
from notification_helpers import factories

pytestmark = pytest.mark.integration


def submit(intake, make_token, **overrides):
    desk = factories.unit()
    reply = intake.post(
        "/dossiers",
        json=factories.submission(**overrides),
        token=make_token("reception", unit=desk),
    )
    assert reply.status_code == 201, reply.text
    return desk, reply.json()


def duplicates():
    """Events the consumer skipped as already handled (kit metric, this process)."""
    from motcua_kit import metrics

    counter = metrics.EVENTS_CONSUMED.labels(
        "notification", "notification.on_intake_event", "duplicate"
    )
    return counter._value.get()


def appointment(body):
    """The appointment as intake answered it: dd/mm/yyyy in Vietnam's time."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    due = datetime.fromisoformat(body["appointment_at"]).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    return due.strftime("%d/%m/%Y")


def test_received_dossier_yields_one_receipt_email_and_one_sms(
    intake, notification, make_token, smtp, gateway, deliveries
):
    desk, body = submit(intake, make_token, applicant__phone="0912345678")
    code, date, pin = body["code"], appointment(body), body["lookup"]["pin"]

    [mail] = smtp.wait_for(1)
    assert mail["To"].addresses[0].addr_spec.startswith("cd")
    assert code in mail["Subject"]
    text = mail.get_content()
    assert code in text and date in text and pin in text
    assert mail["Message-ID"].startswith("<") and mail["Message-ID"].endswith("@motcua>")

    [call] = gateway.wait_for(1, "/sms")
    sms = json.loads(call["body"])
    assert sms["to"] == "0912345678"
    assert code in sms["text"] and date in sms["text"]
    assert "Hồ sơ" in sms["text"] or "hồ sơ" in sms["text"]  # Vietnamese, with diacritics

    rows = eventually(
        lambda: (
            [r for r in deliveries(code) if r["state"] == "sent"] == deliveries(code)
            and len(deliveries(code)) == 2
            and deliveries(code)
        ),
        "two sent deliveries",
    )
    assert {(r["message"], r["channel"]) for r in rows} == {
        ("receipt", "email"),
        ("receipt", "sms"),
    }
    assert next(r for r in rows if r["channel"] == "sms")["encoding"] == "UCS-2"

    log = notification.get(
        f"/notifications?dossier={code}", token=make_token("reception", unit=desk)
    ).json()
    shown = {entry["channel"]: entry for entry in log["notifications"]}
    assert shown["sms"]["recipient"] == "091****678"
    assert shown["email"]["recipient"].startswith("c***@")
    assert shown["email"]["state"] == "sent" and shown["email"]["attempts"] == 1


def test_redelivered_event_and_restart_yield_no_second_message(
    intake, make_notification, make_token, smtp, gateway, deliveries, publisher, intake_sql
):
    first = make_notification()
    _, body = submit(intake, make_token)
    code = body["code"]
    smtp.wait_for(1)
    gateway.wait_for(1, "/sms")
    eventually(lambda: all(r["state"] == "sent" for r in deliveries(code)), "sent receipts")

    # The same event (same id) again, as a broker redelivers it, to a restarted service.
    [row] = intake_sql(
        "SELECT payload FROM outbox_events WHERE subject = %s AND type = 'dossier.received'",
        (code,),
    )
    first.container.stop()
    make_notification()
    before = duplicates()
    publisher.publish("intake", row["payload"])
    publisher.publish("intake", row["payload"])

    # Wait until the consumer has seen both copies (and skipped them), then count.
    eventually(lambda: duplicates() >= before + 2, "both copies consumed")
    time.sleep(0.5)  # a wrongly queued delivery would be sent within a dispatch round
    assert len(smtp.messages()) == 1
    assert len(gateway.calls("/sms")) == 1
    assert len(deliveries(code)) == 2
