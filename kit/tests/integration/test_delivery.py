"""`delivery=True`: a consumer learns who sent a message, as the broker validated it, on the
first delivery and on every retried or re-driven copy (which the kit itself publishes)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from urllib.parse import quote, urlparse
from uuid import uuid4

import pika
import pytest
import requests
from kittest_services import BROKEN, REPLIES, REPLIES_EXCHANGE, REPLIES_QUEUE, REPLY_RUNS, wait_for
from motcua_kit.consumer import ROUTING_KEY_HEADER, USER_HEADER
from motcua_kit.deadletters import list_messages, redrive
from motcua_kit.events import CONTENT_TYPE, new_event
from pika.exceptions import ChannelClosedByBroker

pytestmark = pytest.mark.integration

MANAGEMENT = "http://127.0.0.1:15672/api"
GUEST = ("guest", "guest")


class Agency:
    """An agency's system: a broker user who may only publish to `kittest.replies`."""

    def __init__(self, amqp_uri: str, name: str, password: str) -> None:
        uri = urlparse(amqp_uri)
        self.name = name
        self.connection = pika.BlockingConnection(
            pika.ConnectionParameters(
                host=uri.hostname,
                port=uri.port or 5672,
                virtual_host=uri.path.lstrip("/"),
                credentials=pika.PlainCredentials(name, password),
            )
        )
        self.channel = self.confirm_channel()

    def confirm_channel(self) -> pika.adapters.blocking_connection.BlockingChannel:
        channel = self.connection.channel()
        channel.confirm_delivery()
        return channel

    def publish(
        self,
        event: dict,
        user_id: str | None,
        headers: dict | None = None,
        exchange: str = REPLIES_EXCHANGE,
        routing_key: str = "agency.reply",
    ) -> None:
        """Publish a reply event (confirmed by the broker) claiming to come from `user_id`."""
        self.channel.basic_publish(
            exchange=exchange,
            routing_key=routing_key,
            body=json.dumps(event).encode(),
            properties=pika.BasicProperties(
                content_type=CONTENT_TYPE, message_id=event["id"], user_id=user_id, headers=headers
            ),
            mandatory=True,  # unroutable: kept in the alternate exchange's queue
        )


def new_reply(**data) -> dict:
    return new_event("agencies", "agency.reply", f"T{uuid4().hex[:8]}", {"ok": True, **data})


@pytest.fixture
def agency(rabbit_config, replier) -> Iterator[Agency]:
    vhost = quote(urlparse(rabbit_config["AMQP_URI"]).path.lstrip("/"), safe="")
    # Broker users are global: a fresh name keeps concurrent test sessions apart.
    name, password = f"agency-a-{uuid4().hex[:6]}", secrets.token_urlsafe(16)
    user = f"{MANAGEMENT}/users/{name}"
    try:
        requests.put(
            user, json={"password": password, "tags": ""}, auth=GUEST, timeout=5
        ).raise_for_status()
        requests.put(
            f"{MANAGEMENT}/permissions/{vhost}/{name}",
            json={"configure": "", "write": r"^kittest\.replies$", "read": ""},
            auth=GUEST,
            timeout=5,
        ).raise_for_status()
        agency = Agency(rabbit_config["AMQP_URI"], name, password)
        yield agency
        agency.connection.close()
    finally:
        requests.delete(user, auth=GUEST, timeout=5)


def recorded(event: dict) -> dict:
    return wait_for(lambda: REPLIES.get(event["id"]), f"reply {event['id']} to be handled")


def test_validated_user_id_reaches_the_handler(agency):
    event = new_reply()
    agency.publish(event, user_id=agency.name)

    delivery = recorded(event)
    assert delivery["user_id"] == agency.name
    assert delivery["routing_key"] == "agency.reply"


def test_forged_user_id_is_refused_by_the_broker(agency):
    forged = new_reply()
    with pytest.raises(ChannelClosedByBroker) as refused:
        agency.publish(forged, user_id="agency-b")
    assert refused.value.reply_code == 406
    assert "PRECONDITION_FAILED" in refused.value.reply_text

    # Barrier: a genuine reply published afterwards is handled; the forged one never arrives.
    agency.channel = agency.confirm_channel()
    genuine = new_reply()
    agency.publish(genuine, user_id=agency.name)
    recorded(genuine)
    assert forged["id"] not in REPLIES
    assert "agency-b" not in [d["user_id"] for d in REPLIES.values()]


def test_reply_without_user_id_has_none(agency):
    event = new_reply()
    agency.publish(event, user_id=None)

    assert recorded(event)["user_id"] is None


def test_retried_reply_keeps_the_validated_user_and_routing_key(agency):
    event = new_reply(fail_times=1)
    agency.publish(event, user_id=agency.name)

    delivery = recorded(event)
    # The retry is the kit's own copy, back through a retry queue: the facts came with it.
    assert REPLY_RUNS[event["id"]] == [delivery, delivery]
    assert delivery == {"user_id": agency.name, "routing_key": "agency.reply"}


@pytest.mark.parametrize("claims_user", [True, False], ids=["user_id", "no_user_id"])
def test_forged_delivery_headers_are_not_believed(agency, claims_user):
    user_id = agency.name if claims_user else None
    event = new_reply(fail_times=1)
    forged = {USER_HEADER: "agency-b", ROUTING_KEY_HEADER: "agency.forged"}
    agency.publish(event, user_id=user_id, headers=forged)

    recorded(event)
    # Neither the first delivery nor the retried copy took the sender's headers for facts.
    expected = {"user_id": user_id, "routing_key": "agency.reply"}
    assert REPLY_RUNS[event["id"]] == [expected, expected]


def test_agency_cannot_publish_a_copy_that_looks_retried(agency):
    """Copies through the default exchange are trusted as the kit's own: senders may not."""
    forged = new_reply()
    with pytest.raises(ChannelClosedByBroker) as refused:
        agency.publish(
            forged,
            user_id=agency.name,
            headers={USER_HEADER: "agency-b", ROUTING_KEY_HEADER: "agency.reply"},
            exchange="",
            routing_key=REPLIES_QUEUE,
        )
    assert refused.value.reply_code == 403
    assert "ACCESS_REFUSED" in refused.value.reply_text

    # Barrier: a genuine reply published afterwards is handled; the forged copy never arrives.
    agency.channel = agency.confirm_channel()
    genuine = new_reply()
    agency.publish(genuine, user_id=agency.name)
    recorded(genuine)
    assert forged["id"] not in REPLY_RUNS


def test_redriven_reply_keeps_the_validated_user(agency, rabbit_config, broken_subject):
    amqp_uri = rabbit_config["AMQP_URI"]
    event = new_event("agencies", "agency.reply", broken_subject, {})
    agency.publish(event, user_id=agency.name)
    [entry] = wait_for(lambda: list_messages(amqp_uri, "kitreplies"), "the dead-lettered reply")
    assert (entry["message_id"], entry["reason"]) == (event["id"], "exhausted")

    BROKEN.discard(broken_subject)  # the fix is deployed
    assert redrive(amqp_uri, "kitreplies") == 1

    delivery = recorded(event)
    assert delivery == {"user_id": agency.name, "routing_key": "agency.reply"}
    # Three failed attempts (the last two on retried copies), then the re-driven copy.
    assert REPLY_RUNS[event["id"]] == [delivery] * 4
