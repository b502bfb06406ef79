"""Commands: sent in the worker's transaction, routed by recipient through a direct exchange."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
import requests
from kittest_services import TASKS_EXCHANGE, wait_for
from motcua_kit.events import CONTENT_TYPE, parse_event

pytestmark = pytest.mark.integration


def new_code() -> str:
    return f"T{uuid4().hex[:8]}"


def assign(base: str, code: str, agency: str, **body: Any) -> requests.Response:
    return requests.post(f"{base}/tasks", json={"code": code, "agency": agency, **body}, timeout=5)


def published(pg, event_id: str) -> Any:
    return pg.execute(
        "SELECT exchange, routing_key FROM outbox_events "
        "WHERE id = %s AND published_at IS NOT NULL",
        (event_id,),
    ).fetchone()


def test_command_reaches_only_the_addressed_agency(emitter, broker, pg):
    to_a = broker.bind_command(TASKS_EXCHANGE, "agency-A")
    to_b = broker.bind_command(TASKS_EXCHANGE, "agency-B")
    code = new_code()
    reply = assign(emitter, code, "agency-A")
    assert reply.status_code == 201, reply.text
    event_id = reply.json()["event_id"]

    messages = broker.wait_ids(to_a, [event_id])

    [message] = [m for m in messages if m.properties["message_id"] == event_id]
    assert message.delivery_info["exchange"] == TASKS_EXCHANGE
    assert message.delivery_info["routing_key"] == "agency-A"
    assert message.properties["type"] == "task.assigned"
    assert message.properties["delivery_mode"] == 2
    assert message.content_type == CONTENT_TYPE
    event = parse_event(message.body)
    assert (event["id"], event["type"], event["subject"]) == (event_id, "task.assigned", code)
    assert event["source"] == "/motcua/kittest"
    assert event["data"] == {"code": code}
    # Routed when published: had agency-B's queue matched, the copy would be there already.
    assert broker.take(to_b) == []
    row = wait_for(lambda: published(pg, event_id), "the command marked published")
    assert row == {"exchange": TASKS_EXCHANGE, "routing_key": "agency-A"}


def test_rolled_back_worker_sends_nothing(emitter, broker, pg):
    queue = broker.bind_command(TASKS_EXCHANGE, "agency-A")
    failed, ok = new_code(), new_code()

    reply = assign(emitter, failed, "agency-A", fail=True)
    assert reply.status_code == 409, reply.text
    # A later committed command is the barrier: the relay publishes in outbox order.
    ok_id = assign(emitter, ok, "agency-A").json()["event_id"]
    messages = broker.wait_ids(queue, [ok_id])

    assert failed not in [parse_event(m.body)["subject"] for m in messages]
    assert pg.execute("SELECT * FROM outbox_events WHERE subject = %s", (failed,)).fetchall() == []
    assert pg.execute("SELECT * FROM dossiers_test WHERE code = %s", (failed,)).fetchall() == []


def test_command_for_an_agency_without_a_queue_is_kept_unrouted(emitter, broker, pg):
    broker.bind_command(TASKS_EXCHANGE, "agency-A")
    routed = assign(emitter, new_code(), "agency-A").json()["event_id"]
    code = new_code()
    reply = assign(emitter, code, "agency-nobody")
    assert reply.status_code == 201, reply.text
    event_id = reply.json()["event_id"]

    row = wait_for(lambda: published(pg, event_id), "the command marked published")
    assert row == {"exchange": TASKS_EXCHANGE, "routing_key": "agency-nobody"}
    wait_for(lambda: published(pg, routed), "the routed command marked published")

    # Confirmed, hence already queued: what no queue took waits in `<exchange>.unrouted`.
    [message] = broker.take(f"{TASKS_EXCHANGE}.unrouted")  # not the routed command
    assert message.properties["message_id"] == event_id
    assert message.delivery_info["exchange"] == TASKS_EXCHANGE
    assert message.delivery_info["routing_key"] == "agency-nobody"
    assert message.properties["delivery_mode"] == 2
    event = parse_event(message.body)
    assert (event["id"], event["type"], event["subject"]) == (event_id, "task.assigned", code)
