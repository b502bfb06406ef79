"""The operator's dead-letter tools: list without removing, re-drive once the handler is fixed."""

from __future__ import annotations

import json

import pytest
from kittest_services import BROKEN, CONSUMER_QUEUE, FINISHED, RUNS, wait_for
from motcua_kit.deadletters import list_messages, redrive
from motcua_kit.events import new_event

pytestmark = pytest.mark.integration


def test_list_then_redrive_after_fix(consumer, broker, pg, rabbit_config, broken_subject):
    amqp_uri = rabbit_config["AMQP_URI"]
    event = new_event("kittest", "thing.created", broken_subject, {})
    broker.publish_event(event)
    listed = wait_for(lambda: list_messages(amqp_uri, "kitconsumer"), "a dead-lettered message")

    [entry] = listed
    assert entry["message_id"] == event["id"]
    assert entry["reason"] == "exhausted"
    assert entry["error"] == "RuntimeError: broken until fixed"
    assert entry["queue"] == CONSUMER_QUEUE
    assert entry["attempts"] == 3
    assert event["id"] in entry["body"]
    assert [m["message_id"] for m in list_messages(amqp_uri, "kitconsumer")] == [event["id"]]

    assert redrive(amqp_uri, "kitconsumer", {"some-other-id"}) == 0  # not chosen: stays
    assert len(list_messages(amqp_uri, "kitconsumer")) == 1

    BROKEN.discard(broken_subject)  # the fix is deployed
    assert redrive(amqp_uri, "kitconsumer") == 1
    wait_for(lambda: "handled" in FINISHED[event["id"]], "the re-driven event to be handled")

    assert len(RUNS[event["id"]]) == 4  # three failed attempts, then the re-driven one
    rows = pg.execute("SELECT n FROM effects WHERE event_id = %s", (event["id"],)).fetchall()
    assert rows == [{"n": 4}]
    assert list_messages(amqp_uri, "kitconsumer") == []


def test_a_message_the_broker_dead_lettered_goes_back_where_it_came_from(rabbit_config):
    """An operator's delivery-limit policy makes RabbitMQ dead-letter by itself: no kit headers,
    only `x-death`. The tools still name its queue, and re-drive puts it back there."""
    from kombu import Connection, Queue

    amqp_uri = rabbit_config["AMQP_URI"]
    origin = "kittest.limited"
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        Queue("kitconsumer.dlq", durable=True)(channel).declare()
        Queue(
            origin,
            durable=True,
            queue_arguments={
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": "kitconsumer.dlq",
            },
        )(channel).declare()
        event = new_event("kittest", "thing.created", "limited", {})
        conn.Producer(channel).publish(
            json.dumps(event),
            exchange="",
            routing_key=origin,
            content_type="application/cloudevents+json",
            content_encoding="utf-8",
            message_id=event["id"],
        )
        message = wait_for(lambda: channel.basic_get(origin, no_ack=False), "the message")
        channel.basic_reject(message.delivery_tag, requeue=False)  # as a delivery limit would

        [entry] = wait_for(lambda: list_messages(amqp_uri, "kitconsumer"), "the dead letter")
        assert entry["queue"] == origin and entry["message_id"] == event["id"]
        assert redrive(amqp_uri, "kitconsumer") == 1
        back = wait_for(lambda: channel.basic_get(origin, no_ack=True), "the re-driven message")
        assert back.properties["message_id"] == event["id"]
        assert "x-death" not in (back.headers or {})
        assert list_messages(amqp_uri, "kitconsumer") == []
