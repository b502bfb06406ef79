"""The reference adapter itself: it lets go of withdrawn tasks and stops cleanly when told."""

from __future__ import annotations

import json
import signal
from urllib.parse import quote

import pika
import pytest
from motcua_kit.events import CONTENT_TYPE, new_event
from routing.workflow import TASKS_EXCHANGE

pytestmark = pytest.mark.integration

POLICE = "CA.H38.08"


def test_withdrawn_task_is_acknowledged_not_answered(rabbit_config, bus_agencies, start_adapter):
    adapter = start_adapter(bus_agencies[POLICE])
    vhost = quote(rabbit_config["vhost"], safe="")
    connection = pika.BlockingConnection(
        pika.URLParameters(f"amqp://guest:guest@127.0.0.1:5672/{vhost}")
    )
    try:
        step = "000.00.08.H38-261126-9999/2.1"
        task = new_event("routing", "task.withdrawn", step.split("/")[0], {"step_id": step})
        connection.channel().basic_publish(
            exchange=TASKS_EXCHANGE,
            routing_key=POLICE,
            body=json.dumps(task).encode(),
            properties=pika.BasicProperties(content_type=CONTENT_TYPE, delivery_mode=2),
        )
    finally:
        connection.close()
    assert adapter.line() == json.dumps({"withdrawn": step})

    adapter.process.send_signal(signal.SIGTERM)
    assert adapter.process.wait(timeout=10) == 0, "SIGTERM stops it cleanly"
