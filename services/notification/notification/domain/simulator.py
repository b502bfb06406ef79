"""Test mode: reserved addresses and numbers whose outcome is simulated, never sent.

Integrators point a test dossier at one of these and see the whole delivery life cycle without
any message leaving the platform. The `.invalid` top-level domain cannot exist (RFC 2606) and
Vietnamese numbers starting 010 have not been assigned since 2018, so no real person is reached.
"""

from __future__ import annotations

from notification.domain import outcome
from notification.domain.outcome import Outcome

DOMAIN = "simulator.motcua.invalid"
EMAILS = {
    f"delivered@{DOMAIN}": outcome.DELIVERED,
    f"temporary@{DOMAIN}": outcome.TEMPORARY,
    f"permanent@{DOMAIN}": outcome.PERMANENT,
}
PHONES = {
    "0100000001": outcome.DELIVERED,
    "0100000002": outcome.TEMPORARY,
    "0100000003": outcome.PERMANENT,
}
WEBHOOKS = {
    f"https://{DOMAIN}/delivered": outcome.DELIVERED,
    f"https://{DOMAIN}/temporary": outcome.TEMPORARY,
    f"https://{DOMAIN}/permanent": outcome.PERMANENT,
}
TABLES = {"email": EMAILS, "sms": PHONES, "webhook": WEBHOOKS}


def simulate(channel: str, address: str) -> Outcome | None:
    """The simulated outcome for a reserved address, or None for a real one."""
    status = TABLES.get(channel, {}).get(address.strip().lower())
    if status is None:
        return None
    return outcome.Outcome(status, "test mode: simulated", provider_id=None)
