"""A consumer of motcua events with nothing but pika — what an outside system would write.

    python tests/pika_consumer.py AMQP_URL --exchange intake.events --binding-key 'dossier.#' \
        --queue my-queue --count 1 --timeout 10

Declares the topic exchange (same arguments as the publisher, so this is a no-op when it exists),
its own durable queue bound with the binding key, prints `ready`, then prints one JSON line per
message received — {"exchange", "routing_key", "properties": {...}, "body": "<the body as text>"} —
acknowledging each, and exits after `count` messages (exit 0) or `timeout` seconds of silence (2).
"""

from __future__ import annotations

import argparse
import json
import sys

import pika


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="amqp://user:password@host:port/vhost")
    parser.add_argument("--exchange", default="intake.events")
    parser.add_argument("--binding-key", default="dossier.#")
    parser.add_argument("--queue", required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)

    connection = pika.BlockingConnection(pika.URLParameters(args.url))
    try:
        channel = connection.channel()
        channel.exchange_declare(args.exchange, exchange_type="topic", durable=True)
        channel.queue_declare(args.queue, durable=True)
        channel.queue_bind(args.queue, args.exchange, routing_key=args.binding_key)
        print("ready", flush=True)
        deliveries = channel.consume(args.queue, inactivity_timeout=args.timeout)
        for received, (method, properties, body) in enumerate(deliveries):
            if method is None:
                print(f"timeout after {received} message(s)", file=sys.stderr, flush=True)
                return 2
            message = {
                "exchange": method.exchange,
                "routing_key": method.routing_key,
                "properties": {
                    "content_type": properties.content_type,
                    "content_encoding": properties.content_encoding,
                    "message_id": properties.message_id,
                    "type": properties.type,
                    "delivery_mode": properties.delivery_mode,
                },
                "body": body.decode("utf-8"),
            }
            print(json.dumps(message, ensure_ascii=False), flush=True)
            channel.basic_ack(method.delivery_tag)
            if received + 1 == args.count:
                break
        channel.cancel()
        return 0
    finally:
        connection.close()


if __name__ == "__main__":
    raise SystemExit(main())
