"""Delivery guarantees under failure: a temporary failure is retried with the same id until it
passes or the schedule is spent (then `notification.failed`, without address or text), a permanent
one is not retried, and the per-channel rate limit holds back what exceeds it."""

from __future__ import annotations

import json
import time

import pytest
from kombu import Connection, Exchange, Queue
from motcua_kit.testing import eventually
from notification_helpers import received_data

pytestmark = pytest.mark.integration

SCHEDULE_LENGTH = 4  # conftest's RETRY_SCHEDULE "0.3,0.3,0.3,0.3"


@pytest.fixture
def flaky_smtp(smtp, tmp_path):
    """An SMTP server (conftest's kind) whose first two DATA commands answer 451."""
    sink = type(smtp)(tmp_path / "flaky", fail_first=2)
    yield sink
    sink.stop()


def retried(channel, template):
    from notification import metrics

    return metrics.RETRIED.labels(channel, template)._value.get()


def header(call, name):
    [value] = [v for k, v in call["headers"].items() if k.lower() == name.lower()]
    return value


def row(deliveries, code, channel):
    [found] = [r for r in deliveries(code) if r["channel"] == channel]
    return found


def settled(deliveries, code, channel, state):
    """Wait until the dossier's `channel` delivery is in `state`; return it."""
    return eventually(
        lambda: [r for r in deliveries(code) if r["channel"] == channel and r["state"] == state],
        f"{channel} delivery {state}",
    )[0]


def test_temporary_gateway_failures_are_retried_with_the_same_id_until_accepted(
    notification, publisher, gateway, smtp, deliveries
):
    gateway.program("/sms", [503, 503, 503, 200])
    before = retried("sms", "receipt")
    code = publisher.event("intake", "dossier.received", received_data())["data"]["code"]

    sms = settled(deliveries, code, "sms", "sent")
    time.sleep(1.0)  # past three retry intervals: a wrong extra attempt would show
    calls = gateway.calls("/sms")
    assert [c["status"] for c in calls] == [503, 503, 503, 200]  # exactly one accepted
    assert {json.loads(c["body"])["id"] for c in calls} == {str(sms["id"])}
    assert {header(c, "Idempotency-Key") for c in calls} == {str(sms["id"])}
    sms = row(deliveries, code, "sms")
    assert sms["state"] == "sent" and sms["attempts"] == 4
    assert retried("sms", "receipt") - before == 3
    assert len(smtp.messages()) == 1


def test_a_refused_sms_is_not_retried(notification, publisher, gateway, deliveries):
    gateway.program("/sms", [400])
    code = publisher.event("intake", "dossier.received", received_data())["data"]["code"]

    sms = settled(deliveries, code, "sms", "failed_permanent")
    time.sleep(1.2)  # four retry intervals of 0.3 s and two dispatch rounds
    assert len(gateway.calls("/sms")) == 1
    sms = row(deliveries, code, "sms")
    assert (sms["state"], sms["failure"], sms["attempts"]) == ("failed_permanent", "permanent", 1)


def test_a_rejected_email_address_fails_at_once_and_the_sms_still_goes(
    notification, publisher, gateway, smtp, deliveries
):
    data = received_data()
    data["applicant"]["email"] = "reject-ngoc@example.vn"
    code = publisher.event("intake", "dossier.received", data)["data"]["code"]

    settled(deliveries, code, "sms", "sent")
    email = settled(deliveries, code, "email", "failed_permanent")
    time.sleep(1.0)
    email = row(deliveries, code, "email")
    assert (email["failure"], email["attempts"]) == ("permanent", 1)
    assert "550" in email["last_error"]
    assert smtp.messages() == []
    [call] = gateway.calls("/sms")
    assert json.loads(call["body"])["to"] == data["applicant"]["phone"]


def test_a_mailbox_that_stays_busy_exhausts_the_schedule_and_is_reported(
    rabbit_config, notification, publisher, gateway, smtp, deliveries
):
    address = "busy-hoa@example.vn"
    with Connection(rabbit_config["AMQP_URI"]) as conn:
        exchange = Exchange("notification.events", type="topic", durable=True)
        queue = Queue("test.notification-events", exchange, routing_key="notification.#")
        bound = queue(conn.default_channel)
        bound.declare()

        data = received_data()
        data["applicant"]["email"] = address
        code = publisher.event("intake", "dossier.received", data)["data"]["code"]

        email = settled(deliveries, code, "email", "failed_permanent")
        assert (email["failure"], email["attempts"]) == ("exhausted", SCHEDULE_LENGTH + 1)
        assert "451" in email["last_error"]

        def failed_events():
            while (message := bound.get(no_ack=True)) is not None:
                received.append(json.loads(message.body))
            return [e for e in received if e["type"] == "notification.failed"]

        received: list[dict] = []
        [event] = eventually(failed_events, "a notification.failed event")
    assert smtp.messages() == []
    assert event["subject"] == code
    body = json.dumps(event, ensure_ascii=False)
    assert event["data"]["failure"] == "exhausted"
    assert event["data"]["channel"] == "email" and event["data"]["message"] == "receipt"
    assert event["data"]["attempts"] == SCHEDULE_LENGTH + 1
    for secret in (address, "busy-hoa", data["applicant"]["name"], data["lookup"]["pin"]):
        assert secret not in body  # no address, no text of the message
    assert email["subject"] not in body


def test_a_temporary_failure_at_data_is_retried_and_stored_once(
    make_notification, flaky_smtp, publisher, deliveries
):
    make_notification(SMTP_PORT=flaky_smtp.port)
    code = publisher.event("intake", "dossier.received", received_data())["data"]["code"]

    email = settled(deliveries, code, "email", "sent")
    time.sleep(1.0)
    assert email["attempts"] == 3  # two 451s at DATA, then accepted
    [mail] = flaky_smtp.messages()
    assert code in mail["Subject"]
    assert mail["Message-ID"] == f"<{email['id']}@motcua>"


def test_the_rate_limit_holds_back_what_exceeds_the_budget(
    make_notification, publisher, gateway, deliveries, notification_sql
):
    # The budget counts the last minute's attempts in the (shared) database: earlier tests' SMS
    # attempts would spend it. Move them out of the window.
    notification_sql(
        "UPDATE delivery_attempts SET started_at = started_at - interval '2 minutes'"
        " WHERE channel = 'sms'"
    )
    make_notification(RATE_LIMITS="sms=2")
    codes = [
        publisher.event("intake", "dossier.received", received_data())["data"]["code"]
        for _ in range(4)
    ]

    def sms_rows():
        rows = [r for code in codes for r in deliveries(code) if r["channel"] == "sms"]
        return rows if len(rows) == 4 else None

    eventually(sms_rows, "four SMS deliveries queued")
    gateway.wait_for(2, "/sms")
    time.sleep(1.5)  # three more dispatch rounds
    assert len(gateway.calls("/sms")) == 2
    states = sorted(r["state"] for r in sms_rows())
    assert states == ["pending", "pending", "sent", "sent"]
