"""The operator's dead-letter tools: list without removing, re-drive once the handler is fixed."""

from __future__ import annotations

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
