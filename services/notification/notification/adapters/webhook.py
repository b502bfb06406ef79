"""Webhooks: the CloudEvent as JSON, POSTed and signed with the subscriber's secret."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import certifi
import urllib3

from notification.adapters.egress import Guard, Refused
from notification.adapters.secrets import SecretBox
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


def reason(status: int) -> str:
    """Our own words for a status: the subscriber's reason phrase and body are never kept."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "unknown status"


@dataclass
class WebhookPoster:
    """Resolves the subscriber's host, checks every address (egress.Guard), then connects to the
    first checked address itself: the Host header, TLS SNI and certificate check use the name,
    and nothing is resolved a second time. Redirects are not followed; the answer's body is not
    read."""

    timeout: float = 10.0
    guard: Guard = field(default_factory=Guard)
    secrets: SecretBox = field(default_factory=SecretBox)

    def signing_secret(self, subscriber: dict[str, Any]) -> str:
        """The subscriber's secret, opened (or still in clear, from before migration 002)."""
        if subscriber.get("secret_encrypted"):
            return self.secrets.open(subscriber["secret_encrypted"])
        return str(subscriber["secret_clear"])

    def send(self, call: Call) -> Outcome:
        try:
            host, port, addresses = self.guard.resolve(call.url)
        except Refused as exc:
            if exc.code == "unresolvable":
                return outcome.temporary(f"refused: {exc.code} (the name did not resolve)")
            return outcome.permanent(f"refused: {exc.code} (the address may not be called)")
        parts = urlsplit(call.url)
        body = encode(call.event)
        default_port = 443 if parts.scheme == "https" else 80
        headers = {
            "Host": host if port == default_port else f"{host}:{port}",
            "Content-Type": CONTENT_TYPE,
            signing.HEADER: signing.sign(call.secret, int(time.time()), body),
            "X-Motcua-Delivery": call.delivery_id,  # same on every attempt: subscribers dedupe by it
            "X-Motcua-Event-Type": str(call.event.get("type", "")),
            "User-Agent": "motcua-notification/1",
        }
        pool = self._pool(parts.scheme, host, port, str(addresses[0]))
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            response = pool.urlopen(
                "POST",
                path,
                body=body,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
            status = response.status
            response.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            return outcome.temporary(f"{type(exc).__name__}: no answer from the subscriber")
        finally:
            pool.close()
        return outcome.from_http_status(status, reason(status))

    def _pool(self, scheme: str, host: str, port: int, address: str) -> urllib3.HTTPConnectionPool:
        timeout = urllib3.Timeout(connect=self.timeout, read=self.timeout)
        if scheme == "https":
            return urllib3.HTTPSConnectionPool(
                address,
                port,
                timeout=timeout,
                maxsize=1,
                cert_reqs="CERT_REQUIRED",
                ca_certs=certifi.where(),
                server_hostname=host,
                assert_hostname=host,
            )
        return urllib3.HTTPConnectionPool(address, port, timeout=timeout, maxsize=1)
