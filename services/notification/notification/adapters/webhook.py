"""Webhooks: the CloudEvent as JSON, POSTed and signed with the subscriber's secret."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from notification.domain import outcome, signing
from notification.domain.outcome import Outcome

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


@dataclass(frozen=True)
class Call:
    delivery_id: str
    url: str
    secret: str
    event: dict[str, Any]


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class WebhookPoster:
    timeout: float = 10.0
    session: requests.Session = field(default_factory=requests.Session)

    def send(self, call: Call) -> Outcome:
        body = encode(call.event)
        headers = {
            "Content-Type": CONTENT_TYPE,
            signing.HEADER: signing.sign(call.secret, int(time.time()), body),
            "X-Motcua-Delivery": call.delivery_id,  # same on every attempt: subscribers dedupe by it
            "X-Motcua-Event-Type": str(call.event.get("type", "")),
            "User-Agent": "motcua-notification/1",
        }
        try:
            response = self.session.post(
                call.url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            return outcome.temporary(f"{type(exc).__name__}: {exc}"[:500])
        return outcome.from_http_status(response.status_code, response.text[:200])
