"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>" with the subscriber's secret.

Header `X-Motcua-Signature: t=<unix seconds>,v1=<hex digest>` (docs/notification-api.md). The
timestamp is signed so a captured request cannot be replayed later than the tolerance.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Motcua-Signature"
DEFAULT_TOLERANCE = 300  # seconds


def digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={digest(secret, timestamp, body)}"


def verify(
    secret: str, header: str | None, body: bytes, now: float, tolerance: int = DEFAULT_TOLERANCE
) -> bool:
    """What a subscriber runs: True only for a signature of this body, made recently."""
    if not header:
        return False
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = digest(secret, timestamp, body)
    return hmac.compare_digest(expected.encode(), parts.get("v1", "").encode())
