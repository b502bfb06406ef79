"""SMS through an HTTP gateway, the payload shaped by the operator's mapping; or into a file.

The mapping (`SMS_GATEWAY_PAYLOAD`) is a JSON object whose string values may name
`$to`, `$text`, `$id`, `$sender`, `$segments` and `$encoding`; `$id` is the delivery's id, the same
on every attempt, so a gateway that deduplicates by it sends one SMS even if we ask twice.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

import requests

from notification.domain import outcome
from notification.domain.outcome import Outcome

DEFAULT_PAYLOAD = '{"to": "$to", "text": "$text", "id": "$id", "sender": "$sender"}'


@dataclass(frozen=True)
class TextMessage:
    message_id: str
    to: str
    text: str
    segments: int
    encoding: str


def payload_from(mapping: Any, values: dict[str, str]) -> Any:
    """Fill the mapping: strings are templates, containers are walked, other values kept."""
    if isinstance(mapping, str):
        return Template(mapping).safe_substitute(values)
    if isinstance(mapping, dict):
        return {key: payload_from(value, values) for key, value in mapping.items()}
    if isinstance(mapping, list):
        return [payload_from(value, values) for value in mapping]
    return mapping


@dataclass
class HttpGateway:
    url: str
    payload: dict[str, Any]
    sender: str = "MOTCUA"
    form: bool = False  # some gateways want application/x-www-form-urlencoded
    user: str | None = None
    password: str | None = None
    token: str | None = None
    id_field: str = "id"
    timeout: float = 15.0
    session: requests.Session = field(default_factory=requests.Session)

    def send(self, message: TextMessage) -> Outcome:
        values = {
            "to": message.to,
            "text": message.text,
            "id": message.message_id,
            "sender": self.sender,
            "segments": str(message.segments),
            "encoding": message.encoding,
        }
        body = payload_from(self.payload, values)
        headers = {"Idempotency-Key": message.message_id}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        auth = (self.user, self.password or "") if self.user else None
        try:
            response = self.session.post(
                self.url,
                **({"data": body} if self.form else {"json": body}),
                headers=headers,
                auth=auth,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return outcome.temporary(f"{type(exc).__name__}: {exc}"[:500])
        result = outcome.from_http_status(response.status_code, response.text[:200])
        if not result.succeeded:
            return result
        # The gateway accepted it; "delivered" comes later, from its delivery report.
        return outcome.sent(f"HTTP {response.status_code}", _provider_id(response, self.id_field))


def _provider_id(response: requests.Response, id_field: str) -> str | None:
    try:
        value = response.json().get(id_field)
    except (ValueError, AttributeError):
        return None
    return str(value) if value not in (None, "") else None


@dataclass
class FileGateway:
    """Development and demos: one JSON line per SMS in `path`."""

    path: Path
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: TextMessage) -> Outcome:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(message.__dict__, ensure_ascii=False)
        with self.lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        return outcome.sent(f"written to {self.path}")
