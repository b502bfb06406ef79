"""Idempotent consumers: one effect per event, bounded retries, a dead-letter queue for the rest."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest
from kittest_services import (
    CONSUMER_QUEUE,
    FINISHED,
    RUNS,
    STARTED,
    body_bytes,
    dead_lettered,
    wait_for,
)
from motcua_kit.events import new_event

pytestmark = pytest.mark.integration

DLQ = "kitconsumer.dlq"


def thing_event(**data):
    return new_event("kittest", "thing.created", f"T{uuid4().hex[:8]}", data)


def effects(pg, event_id):
    return pg.execute("SELECT n FROM effects WHERE event_id = %s", (event_id,)).fetchall()


def finished(event_id, count):
    return wait_for(lambda: len(FINISHED[event_id]) >= count, f"{count} worker(s) for {event_id}")


def one_more_dead_lettered(reason, before):
    # The counter rises just after the message reached the DLQ, in the consumer's greenthread.
    wait_for(lambda: dead_lettered(reason) > before, f"the {reason} dead-letter counter to rise")
    assert dead_lettered(reason) == before + 1


def test_emitted_event_handled_once_even_when_delivered_again(
    consumer, emitter, post_thing, broker, pg
):
    reply = post_thing(emitter, f"T{uuid4().hex[:8]}")
    event_id = reply.json()["event_id"]
    finished(event_id, 1)
    # The same event again, as the outbox stored it (a redelivery).
    row = pg.execute("SELECT payload FROM outbox_events WHERE id = %s", (event_id,)).fetchone()
    broker.publish_event(row["payload"])
    finished(event_id, 2)

    assert FINISHED[event_id] == ["handled", "duplicate"]
    assert len(effects(pg, event_id)) == 1


def test_concurrent_duplicates_have_one_effect(consumer, broker, pg):
    event = thing_event(sleep=0.5)
    broker.publish_event(event)
    broker.publish_event(event)
    finished(event["id"], 2)

    first, second = STARTED[event["id"]]
    assert second - first < 0.4, "the two copies did not run at the same time"
    assert sorted(FINISHED[event["id"]]) == ["duplicate", "handled"]
    assert len(effects(pg, event["id"])) == 1


def test_failing_handler_is_retried_with_growing_delays(consumer, broker, pg):
    event = thing_event(fail_times=2)
    broker.publish_event(event)
    finished(event["id"], 3)

    assert FINISHED[event["id"]] == ["error: RuntimeError", "error: RuntimeError", "handled"]
    assert effects(pg, event["id"]) == [{"n": 3}]  # the failed runs were rolled back
    # Delays "0.2,0.4": the second retry waited in the 400 ms queue, so the attempt header rose.
    first, second, third = RUNS[event["id"]]
    assert second - first >= 0.18
    assert third - second >= 0.36


def test_always_failing_handler_ends_in_dead_letter_queue(consumer, broker, pg):
    before = dead_lettered("exhausted")
    event = thing_event(fail_times=99)
    broker.publish_event(event)

    [message] = broker.wait_messages(DLQ, 1)
    assert len(RUNS[event["id"]]) == 3  # first try + one per configured delay
    assert message.properties["message_id"] == event["id"]
    assert json.loads(body_bytes(message)) == event
    assert message.headers["x-motcua-reason"] == "exhausted"
    assert message.headers["x-motcua-error"] == "RuntimeError: failing on purpose (run 3)"
    assert message.headers["x-motcua-queue"] == CONSUMER_QUEUE
    assert message.headers["x-motcua-attempt"] == 3
    assert effects(pg, event["id"]) == []
    one_more_dead_lettered("exhausted", before)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not json", "body is not JSON"),
        (b'{"id": "x", "type": "thing.created"}', "missing CloudEvents attributes: specversion"),
    ],
)
def test_poison_message_goes_straight_to_dlq_and_consumer_goes_on(
    consumer, broker, pg, body, error
):
    before = dead_lettered("malformed")
    message_id = str(uuid4())
    broker.publish(body, content_type="application/json", message_id=message_id)

    [message] = broker.wait_messages(DLQ, 1)
    assert body_bytes(message) == body
    assert message.properties["message_id"] == message_id
    assert message.headers["x-motcua-reason"] == "malformed"
    assert error in message.headers["x-motcua-error"]
    assert message.headers["x-motcua-queue"] == CONSUMER_QUEUE
    one_more_dead_lettered("malformed", before)

    good = thing_event()
    broker.publish_event(good)
    finished(good["id"], 1)
    assert FINISHED[good["id"]] == ["handled"]
    assert len(effects(pg, good["id"])) == 1


def test_permanent_error_is_dead_lettered_at_once(consumer, broker, pg):
    before = dead_lettered("rejected")
    event = thing_event(permanent=True)
    broker.publish_event(event)

    [message] = broker.wait_messages(DLQ, 1)
    assert len(RUNS[event["id"]]) == 1
    assert message.headers["x-motcua-reason"] == "rejected"
    assert message.headers["x-motcua-error"].startswith("PermanentError: ")
    assert message.headers["x-motcua-attempt"] == 1
    assert effects(pg, event["id"]) == []
    one_more_dead_lettered("rejected", before)
