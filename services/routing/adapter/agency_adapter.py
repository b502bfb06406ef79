"""Reference adapter for an agency whose own system works on the bus — plain pika, no nameko.

It shows an agency's side of the contract (docs/events/asyncapi.yaml, "agency tasks"): take each
task from the agency's own queue, answer `accept`, then `complete` with a result reference, as
CloudEvents on exchange `routing.replies`. The broker stamps nothing: the adapter sets `user_id`
to the RabbitMQ user it logged in as, and RabbitMQ refuses a message whose user_id differs —
that is how routing knows which agency replied.

    python services/routing/adapter/agency_adapter.py --amqp-uri amqp://agency-ca:secret@127.0.0.1:5672/ \
        --agency CA.H38.08 [--work-seconds 1] [--max-tasks N]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pika

REPLIES_EXCHANGE = "routing.replies"
CONTENT_TYPE = "application/cloudevents+json"


def reply(agency: str, task: dict[str, Any], action: str, **data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"/agencies/{agency}",
        "type": "agency.reply",
        "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "subject": task["subject"],
        "datacontenttype": "application/json",
        "data": {"step_id": task["data"]["step_id"], "action": action, **data},
    }


def publish(channel: Any, user: str, event: dict[str, Any]) -> None:
    channel.basic_publish(
        exchange=REPLIES_EXCHANGE,
        routing_key="agency.reply",
        body=json.dumps(event, ensure_ascii=False).encode(),
        properties=pika.BasicProperties(
            content_type=CONTENT_TYPE,
            content_encoding="utf-8",
            delivery_mode=2,
            message_id=event["id"],
            type=event["type"],
            user_id=user,  # checked by the broker against the login
        ),
        mandatory=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--amqp-uri", required=True)
    parser.add_argument(
        "--agency", required=True, help="the agency code; its queue is agency.<code>.tasks"
    )
    parser.add_argument(
        "--work-seconds", type=float, default=1.0, help="time between accept and complete"
    )
    parser.add_argument(
        "--max-tasks", type=int, default=0, help="stop after this many tasks (0: never)"
    )
    args = parser.parse_args(argv)

    params = pika.URLParameters(args.amqp_uri)
    user = params.credentials.username
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.confirm_delivery()  # every reply confirmed by the broker before the task is acked
    channel.basic_qos(prefetch_count=1)
    handled = 0
    # From a signal handler, pika must be asked through its thread-safe callback queue.
    signal.signal(
        signal.SIGTERM,
        lambda *_: connection.add_callback_threadsafe(channel.stop_consuming),
    )

    def on_task(ch: Any, method: Any, properties: Any, body: bytes) -> None:
        nonlocal handled
        task = json.loads(body)
        if task.get("type") != "task.assigned":  # task.withdrawn: stop; nothing to answer
            ch.basic_ack(method.delivery_tag)
            print(json.dumps({"withdrawn": task["data"]["step_id"]}), flush=True)
            return
        publish(
            ch, user, reply(args.agency, task, "accept", officer_name=f"Hệ thống {args.agency}")
        )
        time.sleep(args.work_seconds)
        reference = f"{args.agency}/{task['subject']}"
        publish(
            ch,
            user,
            reply(
                args.agency,
                task,
                "complete",
                result_reference=reference,
                note="Đã giải quyết",
                officer_name=f"Hệ thống {args.agency}",
            ),
        )
        ch.basic_ack(method.delivery_tag)
        handled += 1
        print(json.dumps({"handled": task["data"]["step_id"], "result": reference}), flush=True)
        if args.max_tasks and handled >= args.max_tasks:
            ch.stop_consuming()

    channel.basic_consume(queue=f"agency.{args.agency}.tasks", on_message_callback=on_task)
    print(json.dumps({"ready": args.agency}), flush=True)
    try:
        channel.start_consuming()
    finally:
        if connection.is_open:
            connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
