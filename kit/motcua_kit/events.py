"""The one event contract: CloudEvents 1.0, structured JSON mode, plain JSON types.

Every event is published on `<service>.events` (topic exchange, durable) with the event type as
routing key and content type `application/cloudevents+json` (the CloudEvents AMQP binding's
structured mode). `dataschema` points at the versioned schema in docs/events/asyncapi.yaml.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import kombu.serialization

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
SERIALIZER = "cloudevents"
SCHEMA_BASE = "https://motcua.example/schemas/events"
REQUIRED = ("specversion", "id", "source", "type", "time", "subject", "data")


class MalformedEvent(ValueError):
    """A message that is not a CloudEvent of ours: never retried, dead-lettered at once."""


def event_source(service: str) -> str:
    return f"/motcua/{service}"


def new_event(
    source: str, type: str, subject: str, data: dict[str, Any], version: int = 1
) -> dict[str, Any]:
    return {
        "specversion": SPEC_VERSION,
        "id": str(uuid.uuid4()),
        "source": event_source(source),
        "type": type,
        "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "subject": subject,
        "datacontenttype": "application/json",
        "dataschema": f"{SCHEMA_BASE}/{type}/v{version}",
        "data": data,
    }


def parse_event(body: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """Decode and check the envelope; raises MalformedEvent naming what is wrong."""
    if isinstance(body, dict):
        event = body
    else:
        try:
            event = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedEvent(f"body is not JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise MalformedEvent("body is not a JSON object")
    missing = [key for key in REQUIRED if key not in event]
    if missing:
        raise MalformedEvent(f"missing CloudEvents attributes: {', '.join(missing)}")
    if event["specversion"] != SPEC_VERSION:
        raise MalformedEvent(f"unsupported specversion {event['specversion']!r}")
    if not isinstance(event["data"], dict):
        raise MalformedEvent("data must be a JSON object")
    return event


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


kombu.serialization.register(
    SERIALIZER, _dumps, json.loads, content_type=CONTENT_TYPE, content_encoding="utf-8"
)
