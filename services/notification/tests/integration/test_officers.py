"""Officers hear about their agency's work: a step assigned or due soon emails the agency's
officers, an overdue step emails the supervisors of the agency it escalates to, other routing
events email nobody; and a citizen's event for a dossier never received is retried, then
dead-lettered, never sent."""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path

import pytest
import yaml
from kombu import Connection, Queue
from motcua_kit.testing import eventually
from notification_helpers import received_data

pytestmark = pytest.mark.integration

ASYNCAPI = Path(__file__).resolve().parents[4] / "docs" / "events" / "asyncapi.yaml"
RECIPIENTS = Path(__file__).resolve().parents[2] / "notification" / "data" / "recipients.json"
TASK = "Đăng ký khai sinh, cấp Giấy khai sinh"  # the examples' task (vi)


def example(message: str) -> dict:
    """The data of an AsyncAPI example (a deep copy)."""
    doc = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    return copy.deepcopy(doc["components"]["messages"][message]["examples"][0]["payload"]["data"])


def contacts(agency: str) -> dict:
    return json.loads(RECIPIENTS.read_text(encoding="utf-8"))["agencies"][agency]


def received(publisher, deliveries) -> str:
    """A dossier received here (its receipt queued): the code."""
    code = publisher.event("intake", "dossier.received", received_data())["data"]["code"]
    eventually(lambda: len(deliveries(code)) == 2, "the receipt queued")
    return code


def step_event(publisher, message: str, code: str, **changes) -> dict:
    data = {**example(message), **changes}
    data["code"], data["step_id"] = code, f"{code}/1.1"
    return publisher.event("routing", message_type(message), data)


def message_type(message: str) -> str:
    return {
        "stepAssigned": "step.assigned",
        "stepReminder": "step.reminder",
        "stepOverdue": "step.overdue",
        "stepAccepted": "step.accepted",
    }[message]


def mails_to(smtp, address: str) -> list:
    return [m for m in smtp.messages() if m["To"].addresses[0].addr_spec == address]


def routing_handled() -> float:
    from motcua_kit import metrics

    return metrics.EVENTS_CONSUMED.labels(
        "notification", "notification.on_routing_event", "handled"
    )._value.get()


def test_an_assigned_step_and_its_reminder_email_the_agency_officers_in_vietnamese(
    notification, publisher, smtp, deliveries
):
    [officer] = contacts("000.00.08.H38")["officers"]
    assert officer == "motcua@ubnd-thachbinh.example.vn"
    code = received(publisher, deliveries)
    step_event(publisher, "stepAssigned", code)
    step_event(publisher, "stepReminder", code)

    eventually(lambda: len(mails_to(smtp, officer)) >= 2, "the officer's two emails")
    time.sleep(1.0)
    assert len(smtp.messages()) == 3  # the citizen's receipt, the task and the reminder
    assigned = f"[Giao việc] Hồ sơ {code}: {TASK}"
    reminder = f"[Nhắc việc] Hồ sơ {code} sắp đến hạn xử lý: {TASK}"
    by_subject = {m["Subject"]: m for m in mails_to(smtp, officer)}
    assert set(by_subject) == {assigned, reminder}
    text = by_subject[assigned].get_content()
    assert "Kính gửi cán bộ, công chức Ủy ban nhân dân xã Thạch Bình" in text
    assert f"Mã hồ sơ: {code}" in text and f"Công việc: {TASK}" in text
    assert "Hạn xử lý: 09:00 ngày 08/07/2025" in text
    assert f"Mã hồ sơ: {code}" in by_subject[reminder].get_content()
    officers = {
        r["message"]: (r["audience"], r["channel"], r["recipient"], r["state"])
        for r in deliveries(code)
        if r["audience"] == "officer"
    }
    assert officers == {
        "task_assigned": ("officer", "email", officer, "sent"),
        "step_reminder": ("officer", "email", officer, "sent"),
    }


def test_an_overdue_step_escalates_to_the_supervisors_it_names(
    notification, publisher, smtp, deliveries
):
    [supervisor] = contacts("BHXH.H38")["supervisors"]
    assert supervisor == "lanhdao@bhxh.example.vn"
    code = received(publisher, deliveries)
    step_event(
        publisher,
        "stepOverdue",
        code,
        escalate_to={"agency": "BHXH.H38", "role": "supervisor"},
    )

    [mail] = eventually(lambda: mails_to(smtp, supervisor), "the supervisor's email")
    time.sleep(1.0)
    assert len(mails_to(smtp, supervisor)) == 1
    assert len(smtp.messages()) == 2  # the receipt, the escalation: not the step agency's lead
    assert mail["Subject"] == f"[Quá hạn] Hồ sơ {code}: {TASK}"
    text = mail.get_content()
    # addressed to whoever it escalates to; the late step named by the agency that holds it
    assert text.startswith("Kính gửi đồng chí lãnh đạo,")
    assert "Đơn vị xử lý: Ủy ban nhân dân xã Thạch Bình" in text
    assert "quá hạn từ 09:00 08/07/2025" in text and f"Mã hồ sơ: {code}" in text


def test_an_accepted_step_emails_nobody(notification, publisher, smtp, deliveries):
    code = received(publisher, deliveries)
    smtp.wait_for(1)  # the receipt
    before = routing_handled()
    step_event(publisher, "stepAccepted", code)

    eventually(lambda: routing_handled() >= before + 1, "step.accepted consumed")
    time.sleep(1.0)  # two dispatch rounds
    assert len(smtp.messages()) == 1
    assert [r["message"] for r in deliveries(code)] == ["receipt", "receipt"]


def test_a_citizen_event_for_an_unknown_dossier_is_dead_lettered(
    rabbit_config, notification, publisher, smtp, deliveries, notification_sql
):
    data = example("dossierRefused")
    code = data["code"] = f"T{uuid.uuid4().hex[:8].upper()}-250703-0002"
    event = publisher.event("intake", "dossier.refused", data)

    def dead_letters():
        with Connection(rabbit_config["AMQP_URI"]) as conn:
            _, count, _ = conn.default_channel.queue_declare(
                queue="notification.dlq", durable=True, passive=True
            )
        return count

    eventually(dead_letters, "a dead letter")
    time.sleep(1.0)  # past both retry delays (0.2 s, 0.4 s): nothing more arrives
    assert dead_letters() == 1
    with Connection(rabbit_config["AMQP_URI"]) as conn:
        message = Queue("notification.dlq", durable=True)(conn.default_channel).get(no_ack=True)
    headers = message.headers
    assert json.loads(message.body)["id"] == event["id"]
    assert headers["x-motcua-reason"] == "exhausted"
    assert headers["x-motcua-attempt"] == 3  # the first try and two retries
    assert "NotYetReceived" in headers["x-motcua-error"]
    assert headers["x-motcua-queue"] == "notification.intake-events"
    assert deliveries(code) == []
    assert smtp.messages() == []
    # the failed tries were rolled back: a re-drive after the receipt would be handled
    assert notification_sql("SELECT 1 FROM inbox_events WHERE event_id = %s", (event["id"],)) == []
