"""What a channel says about one attempt to send."""

from __future__ import annotations

from dataclasses import dataclass

SENT, DELIVERED, TEMPORARY, PERMANENT = "sent", "delivered", "temporary", "permanent"


@dataclass(frozen=True)
class Outcome:
    """`sent`: handed over; `delivered`: the far end confirmed; `temporary`: try again later;
    `permanent`: trying again cannot help (bad address, refused by the far end)."""

    status: str
    detail: str = ""
    provider_id: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in (SENT, DELIVERED)


def sent(detail: str = "", provider_id: str | None = None) -> Outcome:
    return Outcome(SENT, detail, provider_id)


def delivered(detail: str = "", provider_id: str | None = None) -> Outcome:
    return Outcome(DELIVERED, detail, provider_id)


def temporary(detail: str) -> Outcome:
    return Outcome(TEMPORARY, detail)


def permanent(detail: str) -> Outcome:
    return Outcome(PERMANENT, detail)


def from_http_status(status: int, detail: str) -> Outcome:
    """2xx delivered to the far end's system; 408/425/429/5xx may pass; any other 4xx will not."""
    if 200 <= status < 300:
        return delivered(f"HTTP {status}")
    if status in (408, 425, 429) or status >= 500:
        return temporary(f"HTTP {status}: {detail}"[:500])
    return permanent(f"HTTP {status}: {detail}"[:500])
