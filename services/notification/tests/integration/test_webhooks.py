"""Webhook subscribers: each subscribed event arrives once, as a signed CloudEvent without the
citizen's PIN; patterns choose the events; a subscriber that keeps failing is suspended (events
held, the operator told) and a re-drive sends every held event once; a removed one gets nothing."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import eventlet
import pytest
from kombu import Connection, Exchange, Queue, binding
from motcua_kit.testing import eventually
from notification.domain.signing import verify
from notification_helpers import received_data

pytestmark = pytest.mark.integration

SETTLE = 1.0  # two dispatch rounds (the timer runs every 0.5 s): time enough for a wrong call


def header(call: dict[str, Any], name: str) -> str:
    """A request header as the recorder saw it, whatever its case ('' if it was not sent)."""
    return next((v for k, v in call["headers"].items() if k.lower() == name.lower()), "")


def webhook_rows(sql: Callable[..., Any], subscriber_id: str) -> list[dict[str, Any]]:
    return sql(
        "SELECT * FROM deliveries WHERE channel = 'webhook' AND recipient = %s ORDER BY created_at",
        (subscriber_id,),
    )


def settled(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows once none is waiting or being sent (empty, hence falsy, until then)."""
    busy = any(r["state"] in ("pending", "sending", "failed_temporary") for r in rows)
    return [] if busy else rows


class Subscribers:
    """Creates subscribers through the API; removes them after the test (the database lives for
    the whole session, and an active subscriber pointing at a stopped recorder would fail, be
    suspended and email the operator in some later test)."""

    def __init__(self, sql: Callable[..., Any], token: str) -> None:
        self.sql, self.token = sql, token
        self.ids: list[str] = []

    def create(self, api: Any, url: str, event_types: list[str], **extra: Any) -> dict[str, Any]:
        body = {"name": f"Hệ thống thử {uuid.uuid4().hex[:6]}", "url": url, **extra}
        reply = api.post("/webhooks", json={**body, "event_types": event_types}, token=self.token)
        assert reply.status_code == 201, reply.text
        created = reply.json()
        self.ids.append(created["id"])
        return created

    def remove_all(self) -> None:
        if not self.ids:
            return
        self.sql(
            "UPDATE webhook_subscribers SET state = 'deleted' WHERE id::text = ANY(%s)", (self.ids,)
        )
        self.sql(
            "UPDATE deliveries SET state = 'held' WHERE channel = 'webhook'"
            " AND recipient = ANY(%s) AND state IN ('pending', 'failed_temporary', 'sending')",
            (self.ids,),
        )


@pytest.fixture
def admin(make_token: Callable[..., str]) -> str:
    return make_token("admin", unit="000.00.00.G00")


@pytest.fixture
def subscribers(notification_sql: Callable[..., Any], admin: str) -> Iterator[Subscribers]:
    made = Subscribers(notification_sql, admin)
    yield made
    made.remove_all()


class NotificationEvents:
    """A queue of our own on `notification.events`, bound before anything is published."""

    def __init__(self, amqp_uri: str, *event_types: str) -> None:
        exchange = Exchange("notification.events", type="topic", durable=True)
        self.connection = Connection(amqp_uri)
        self.queue = Queue(
            f"test-notification-{uuid.uuid4().hex[:8]}",
            bindings=[binding(exchange, routing_key=t) for t in event_types],
            exclusive=True,
        )(self.connection.channel())
        self.queue.declare()
        self.received: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        while (message := self.queue.get(no_ack=True)) is not None:
            self.received.append(json.loads(message.body))
        return self.received

    def wait_for(self, event_type: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.drain() if e["type"] == event_type]
            if found:
                return found[0]
            assert time.monotonic() < deadline, f"no {event_type} within {timeout} s"
            eventlet.sleep(0.05)


@pytest.fixture
def notification_events(rabbit_config: dict[str, Any]) -> Iterator[NotificationEvents]:
    tap = NotificationEvents(
        rabbit_config["AMQP_URI"],
        "notification.webhook_suspended",
        "notification.webhook_resumed",
    )
    yield tap
    tap.connection.release()


def test_subscriber_gets_one_signed_cloudevent_without_the_pin(
    notification, subscribers, gateway, publisher, notification_sql
):
    created = subscribers.create(notification, gateway.url + "/hook-a", ["dossier.received"])
    secret = created["secret"]
    assert len(secret) >= 32 and created["state"] == "active"
    assert created["event_types"] == ["dossier.received"]

    data = received_data()
    data["lookup"]["pin"] = "739146"
    event = publisher.event("intake", "dossier.received", data)

    [call] = gateway.wait_for(1, "/hook-a")
    [row] = eventually(
        lambda: settled(webhook_rows(notification_sql, created["id"])),
        "the webhook delivery recorded",
    )
    assert row["state"] == "delivered" and row["attempts"] == 1
    assert row["event_id"] == event["id"]
    time.sleep(SETTLE)
    assert len(gateway.calls("/hook-a")) == 1

    assert call["method"] == "POST"
    assert header(call, "Content-Type").split(";")[0].strip() == "application/cloudevents+json"
    assert header(call, "X-Motcua-Delivery") == str(row["id"])
    assert header(call, "X-Motcua-Event-Type") == "dossier.received"
    signature = header(call, "X-Motcua-Signature")
    assert signature and signature.startswith("t=")

    body = json.loads(call["body"])
    assert (body["id"], body["type"], body["subject"]) == (
        event["id"],
        "dossier.received",
        data["code"],
    )
    assert body["source"] == "/motcua/intake" and body["specversion"] == "1.0"
    assert body["data"]["code"] == data["code"]
    assert body["data"]["lookup"] == {"url": data["lookup"]["url"]}
    assert "739146" not in call["body"] and '"pin"' not in call["body"]
    assert data["lookup"]["link"] not in call["body"] and "?t=" not in call["body"]

    raw = call["body"].encode("utf-8")
    now = time.time()
    assert verify(secret, signature, raw, now) is True
    tampered = bytearray(raw)
    tampered[raw.index(b'"code":"') + 8] ^= 0x01  # one byte of the dossier code
    assert verify(secret, signature, bytes(tampered), now) is False
    assert verify("another-secret-" + "x" * 32, signature, raw, now) is False


def test_patterns_choose_the_events(
    notification, subscribers, gateway, publisher, notification_sql
):
    exact = subscribers.create(notification, gateway.url + "/hook-a", ["dossier.received"])
    wildcard = subscribers.create(notification, gateway.url + "/hook-star", ["dossier.*"])
    steps = subscribers.create(notification, gateway.url + "/hook-steps", ["step.*"])

    data = received_data()
    received = publisher.event("intake", "dossier.received", data)
    gateway.wait_for(1, "/hook-a")
    withdrawn = publisher.event(
        "intake",
        "dossier.withdrawn",
        {"code": data["code"], "reason": "Công dân rút hồ sơ", "at": "2025-07-03T08:00:00+07:00"},
    )

    calls = gateway.wait_for(2, "/hook-star")
    # Webhook deliveries of one event are written in one transaction: once the wildcard
    # subscriber has the withdrawal, any delivery for the others would exist too.
    time.sleep(SETTLE)
    assert sorted(json.loads(c["body"])["id"] for c in gateway.calls("/hook-star")) == sorted(
        [received["id"], withdrawn["id"]]
    )
    assert {header(c, "X-Motcua-Event-Type") for c in calls} == {
        "dossier.received",
        "dossier.withdrawn",
    }
    [only] = gateway.calls("/hook-a")
    assert json.loads(only["body"])["id"] == received["id"]
    assert [r["event_id"] for r in webhook_rows(notification_sql, exact["id"])] == [received["id"]]
    assert gateway.calls("/hook-steps") == []
    assert webhook_rows(notification_sql, steps["id"]) == []
    assert len(webhook_rows(notification_sql, wildcard["id"])) == 2


def test_failing_subscriber_is_suspended_held_and_redriven(
    notification,
    subscribers,
    admin,
    gateway,
    smtp,
    publisher,
    notification_sql,
    notification_events,
):
    gateway.program("/hook-b", [500])
    failing = subscribers.create(notification, gateway.url + "/hook-b", ["dossier.received"])
    sid = failing["id"]

    first = publisher.event("intake", "dossier.received", received_data())
    suspended = notification_events.wait_for("notification.webhook_suspended")

    # WEBHOOK_SUSPEND_AFTER is 3: three attempts, then suspended with its delivery held.
    assert suspended["subject"] == sid
    assert suspended["data"]["subscriber_id"] == sid
    assert suspended["data"]["failures"] == 3
    assert suspended["data"]["held"] == 1
    assert "HTTP 500" in suspended["data"]["last_error"]
    shown = notification.get(f"/webhooks/{sid}", token=admin).json()
    assert shown["state"] == "suspended" and shown["consecutive_failures"] == 3
    assert shown["suspended_at"] is not None
    assert "secret" not in shown
    [held_first] = webhook_rows(notification_sql, sid)
    assert (held_first["event_id"], held_first["state"]) == (first["id"], "held")
    assert held_first["attempts"] == 3

    def operator_mails() -> list[Any]:
        return [
            m for m in smtp.messages() if m["To"].addresses[0].addr_spec == "operator@test.invalid"
        ]

    [mail] = eventually(operator_mails, "the operator's email")
    assert failing["name"] in mail["Subject"]
    text = mail.get_content()
    assert failing["name"] in text and sid in text
    assert f"POST /webhooks/{sid}/redrive" in text

    # Events while suspended are stored, held, not posted.
    later = [publisher.event("intake", "dossier.received", received_data()) for _ in range(2)]
    eventually(lambda: len(webhook_rows(notification_sql, sid)) == 3, "three webhook deliveries")
    time.sleep(SETTLE)
    rows = webhook_rows(notification_sql, sid)
    assert [r["state"] for r in rows] == ["held"] * 3
    assert {r["event_id"] for r in rows} == {first["id"], *(e["id"] for e in later)}
    assert len(gateway.calls("/hook-b")) == 3
    assert len(operator_mails()) == 1

    # The subscriber is fixed; the operator re-drives.
    gateway.program("/hook-b", [200])
    reply = notification.post(f"/webhooks/{sid}/redrive", token=admin)
    assert reply.status_code == 200, reply.text
    assert reply.json()["state"] == "active" and reply.json()["released"] == 3
    assert reply.json()["consecutive_failures"] == 0

    calls = gateway.wait_for(6, "/hook-b")
    eventually(
        lambda: [r["state"] for r in webhook_rows(notification_sql, sid)] == ["delivered"] * 3,
        "the held deliveries delivered",
    )
    time.sleep(SETTLE)
    calls = gateway.calls("/hook-b")
    assert len(calls) == 6
    redriven = [header(c, "X-Motcua-Delivery") for c in calls[3:]]
    assert sorted(redriven) == sorted(str(r["id"]) for r in rows)
    assert sorted(json.loads(c["body"])["id"] for c in calls[3:]) == sorted(
        r["event_id"] for r in rows
    )
    resumed = notification_events.wait_for("notification.webhook_resumed")
    assert resumed["data"]["released"] == 3 and resumed["data"]["was"] == "suspended"
    assert notification.get(f"/webhooks/{sid}", token=admin).json()["state"] == "active"


def test_deleted_subscriber_gets_nothing_more(
    notification, subscribers, admin, gateway, publisher, notification_sql
):
    leaving = subscribers.create(notification, gateway.url + "/hook-a", ["dossier.received"])
    staying = subscribers.create(notification, gateway.url + "/hook-c", ["*"])

    publisher.event("intake", "dossier.received", received_data())
    gateway.wait_for(1, "/hook-a")
    gateway.wait_for(1, "/hook-c")

    reply = notification.delete(f"/webhooks/{leaving['id']}", token=admin)
    assert reply.status_code == 200, reply.text
    assert reply.json()["state"] == "deleted"
    assert notification.get(f"/webhooks/{leaving['id']}", token=admin).status_code == 404
    listed = notification.get("/webhooks", token=admin).json()["subscribers"]
    assert leaving["id"] not in {s["id"] for s in listed}
    assert staying["id"] in {s["id"] for s in listed}

    after = publisher.event("intake", "dossier.received", received_data())
    calls = gateway.wait_for(2, "/hook-c")
    assert json.loads(calls[1]["body"])["id"] == after["id"]
    time.sleep(SETTLE)
    assert len(gateway.calls("/hook-a")) == 1
    assert after["id"] not in {r["event_id"] for r in webhook_rows(notification_sql, leaving["id"])}


def test_deliveries_in_flight_at_the_suspension_are_held_not_retried(
    make_notification, subscribers, admin, gateway, publisher, notification_sql
):
    """Five events waiting when the service starts: all five are claimed in one round and fail,
    the third failure suspends the subscriber, and the two recorded after it are held too."""
    gateway.program("/hook-b", [500])
    first = make_notification()
    failing = subscribers.create(first, gateway.url + "/hook-b", ["dossier.received"])
    sid = failing["id"]
    first.container.stop()
    events = [publisher.event("intake", "dossier.received", received_data()) for _ in range(5)]
    api = make_notification()

    eventually(
        lambda: [r["state"] for r in webhook_rows(notification_sql, sid)] == ["held"] * 5,
        "five held deliveries",
    )
    assert api.get(f"/webhooks/{sid}", token=admin).json()["state"] == "suspended"
    time.sleep(2.5)  # longer than the whole retry schedule (0.3 s x 4) and its dispatch rounds
    rows = webhook_rows(notification_sql, sid)
    assert [(r["state"], r["attempts"]) for r in rows] == [("held", 1)] * 5
    assert len(gateway.calls("/hook-b")) == 5  # one round, then nothing while suspended

    gateway.program("/hook-b", [200])
    reply = api.post(f"/webhooks/{sid}/redrive", token=admin)
    assert reply.status_code == 200 and reply.json()["released"] == 5, reply.text
    gateway.wait_for(10, "/hook-b")
    eventually(
        lambda: [r["state"] for r in webhook_rows(notification_sql, sid)] == ["delivered"] * 5,
        "the held deliveries delivered",
    )
    time.sleep(SETTLE)
    calls = gateway.calls("/hook-b")[5:]
    assert len(calls) == 5
    assert sorted(json.loads(c["body"])["id"] for c in calls) == sorted(e["id"] for e in events)
