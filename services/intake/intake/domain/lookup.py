"""The citizen's two keys to a dossier, and the limits on guessing them. No I/O.

A citizen opens their dossier with its code and either
- the six-digit PIN given at reception (typed, sent in a POST body — never in a URL), or
- the link secret `t` printed in the receipt's link and QR code and sent in emails and SMS:
  `base64url(HMAC-SHA256(key, "lookup-link|" + code))[:22]` (132 bits). It is bound to its
  dossier, says nothing about the PIN, and needs no typing.

Both are checked with `hmac.compare_digest`, and an unknown code is compared against a dummy, so
the time of an answer says nothing about whether the code exists. Wrong attempts are counted per
client address and per dossier code (known or not) over a sliding window; see `desk.lookup`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from motcua_kit.workcal import VN_TZ

PIN = "pin"
LINK = "link"
PIN_PATTERN = r"^\d{6}$"
LINK_LENGTH = 22
LINK_PATTERN = rf"^[A-Za-z0-9_-]{{{LINK_LENGTH}}}$"
_DUMMY_HASH = "0" * 64  # what an unknown code is compared against


@dataclass(frozen=True)
class Credential:
    """What the citizen presented: a PIN (`kind == PIN`) or a link secret (`kind == LINK`)."""

    kind: str
    value: str


@dataclass(frozen=True)
class Pins:
    """How lookup PINs and link secrets are derived, checked and guarded.

    A PIN has only a million values, so no hash of it alone resists someone holding the database;
    an HMAC under a server key (`LOOKUP_PIN_KEY`, kept out of the database) does, and costs
    microseconds where a slow KDF cost ~11 ms of the one CPU a submission has (docs/performance.md).
    Online guessing is limited: `max_failures` wrong attempts per client address and
    `max_failures_per_dossier` per dossier code within `window`.
    """

    key: bytes
    max_failures: int = 10
    max_failures_per_dossier: int = 10
    window: timedelta = timedelta(minutes=15)

    def hash(self, code: str, pin: str) -> str:
        return hmac.new(self.key, f"{code}:{pin}".encode(), hashlib.sha256).hexdigest()

    def link_secret(self, code: str) -> str:
        digest = hmac.new(self.key, f"lookup-link|{code}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:LINK_LENGTH]

    def link(self, base_url: str, code: str) -> str:
        """The citizen's link to their dossier (receipt, QR code, emails, SMS)."""
        return f"{base_url}/lookup/{code}?t={self.link_secret(code)}"

    def accepts(self, stored_hash: str | None, code: str, credential: Credential) -> bool:
        """True when `credential` opens dossier `code` (`stored_hash`: its PIN's HMAC, None when
        the code is unknown). Constant time in the secret, and the same work for unknown codes."""
        if credential.kind == LINK:
            matched = hmac.compare_digest(
                self.link_secret(code).encode(), credential.value.encode()
            )
        else:
            matched = hmac.compare_digest(
                (stored_hash or _DUMMY_HASH).encode(), self.hash(code, credential.value).encode()
            )
        return matched and stored_hash is not None


def retry_at(nth_newest_failure: datetime | None, window: timedelta) -> datetime | None:
    """When a lock ends: the `limit`-th newest failure in the window leaves it. None: not locked."""
    return nth_newest_failure + window if nth_newest_failure is not None else None


def locked_answer(until: datetime, now: datetime) -> dict[str, str]:
    """The 429 body: when to try again, in Vietnam time (HH:MM, with the date if not today)."""
    local, today = until.astimezone(VN_TZ), now.astimezone(VN_TZ).date()
    clock = local.strftime("%H:%M")
    day_vi = "" if local.date() == today else f" ngày {local.strftime('%d/%m/%Y')}"
    day_en = "" if local.date() == today else f" on {local.strftime('%d/%m/%Y')}"
    return {
        "error": "too_many_attempts",
        "message": f"Tra cứu sai quá nhiều lần. Vui lòng thử lại lúc {clock}{day_vi}.",
        "message_en": f"Too many failed attempts. Please try again at {clock}{day_en}"
        " (Vietnam time).",
        "retry_at": local.isoformat(),
    }


NOT_FOUND = {
    "error": "not_found",
    "message": "Không tìm thấy hồ sơ với mã và mã tra cứu đã nhập",
    "message_en": "No dossier matches this code and lookup PIN or link",
}
