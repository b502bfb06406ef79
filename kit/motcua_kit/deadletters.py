"""Operator command: list and re-drive a service's dead-lettered messages.

    python -m motcua_kit.deadletters --service intake list
    python -m motcua_kit.deadletters --service intake redrive [--message-id ID ...]

`list` reads without removing (messages are returned to the queue when it is done). `redrive`
moves the chosen messages (all by default) back to the queue they came from, with the attempt
count reset, and removes them from the dead-letter queue only after the broker confirmed the copy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from kombu import Connection, Producer

from motcua_kit.consumer import (
    ATTEMPT_HEADER,
    ROUTING_KEY_HEADER,
    USER_HEADER,
    dead_letter_queue_name,
)


def _headers(message: Any) -> dict[str, Any]:
    return dict(message.headers or {})


def _origin(headers: dict[str, Any]) -> str | None:
    """The queue a dead letter came from: ours say so; one the broker dead-lettered itself (a
    delivery limit set by the operator's policy) names it in `x-death`."""
    if headers.get("x-motcua-queue"):
        return str(headers["x-motcua-queue"])
    deaths = headers.get("x-death") or []
    return str(deaths[0].get("queue")) if deaths and deaths[0].get("queue") else None


def list_messages(amqp_uri: str, service: str, limit: int = 1000) -> list[dict[str, Any]]:
    found = []
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        queue = dead_letter_queue_name(service)
        for _ in range(limit):
            message = channel.basic_get(queue, no_ack=False)
            if message is None:
                break
            headers = _headers(message)
            body = message.body  # py-amqp decodes it already when a content encoding is named
            text = body if isinstance(body, str) else body.decode("utf-8", "replace")
            found.append(
                {
                    "message_id": message.properties.get("message_id"),
                    "type": message.properties.get("type"),
                    "queue": _origin(headers),
                    "reason": headers.get("x-motcua-reason"),
                    "error": headers.get("x-motcua-error"),
                    "attempts": headers.get(ATTEMPT_HEADER),
                    "dead_lettered_at": headers.get("x-motcua-dead-lettered-at"),
                    "body": text[:500],
                }
            )
        channel.close()  # unacked messages go back to the queue
    return found


def redrive(amqp_uri: str, service: str, message_ids: set[str] | None = None) -> int:
    moved = 0
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        producer = Producer(channel)
        queue = dead_letter_queue_name(service)
        # At most what is there now: a message failing again must not be re-driven in a loop.
        _name, waiting, _consumers = channel.queue_declare(queue=queue, durable=True, passive=True)
        for _ in range(waiting):
            message = channel.basic_get(queue, no_ack=False)
            if message is None:
                break
            headers = _headers(message)
            chosen = message_ids is None or message.properties.get("message_id") in message_ids
            target = _origin(headers)
            if not chosen or not target:
                continue  # left unacked: back in the dead-letter queue when the channel closes
            # The dead-letter bookkeeping goes; what the broker once validated stays.
            kept = {
                k: v
                for k, v in headers.items()
                if (not k.startswith("x-motcua-") and k != "x-death")
                or k in (USER_HEADER, ROUTING_KEY_HEADER)
            }
            # Dead-lettered by the broker itself: the sender's validated user is still a property.
            if USER_HEADER not in kept and message.properties.get("user_id"):
                kept[USER_HEADER] = message.properties["user_id"]
            producer.publish(
                message.body,
                exchange="",
                routing_key=target,
                headers={**kept, ATTEMPT_HEADER: 1},
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                message_id=message.properties.get("message_id"),
                type=message.properties.get("type"),
                delivery_mode=2,
            )
            channel.basic_ack(message.delivery_tag)
            moved += 1
        channel.close()
    return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--service", required=True)
    parser.add_argument(
        "--amqp-uri", default=os.environ.get("AMQP_URI", "amqp://guest:guest@localhost:5672/")
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list")
    redrive_cmd = sub.add_parser("redrive")
    redrive_cmd.add_argument("--message-id", action="append")
    args = parser.parse_args(argv)
    if args.command == "list":
        messages = list_messages(args.amqp_uri, args.service)
        json.dump(messages, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write(f"\n{len(messages)} dead-lettered message(s) for {args.service}\n")
    else:
        ids = set(args.message_id) if args.message_id else None
        print(f"re-drove {redrive(args.amqp_uri, args.service, ids)} message(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
