"""Input data of the reception receipt and appointment slip (Form 01).

The HTTP layer builds a :class:`Receipt` from a received dossier; the renderers in
:mod:`intake.receipt.render` turn it into HTML or PDF. Values are already resolved (names in the
chosen language, officer's display name, ...): this module does no look-ups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SUPPORTED_LANGUAGES: tuple[str, ...] = ("vi", "en")
RETURN_METHODS: tuple[str, ...] = ("desk", "post", "online")
CHANNELS: tuple[str, ...] = ("desk", "online", "post")


@dataclass(frozen=True)
class ReceiptDocument:
    """One document (thành phần hồ sơ) received with the dossier."""

    name: str
    copies: int
    original: bool  # True: bản chính (original); False: bản sao (copy)

    def __post_init__(self) -> None:
        if self.copies < 1:
            raise ValueError(f"document {self.name!r}: copies must be >= 1, got {self.copies}")


@dataclass(frozen=True)
class Receipt:
    """Everything printed on Giấy tiếp nhận hồ sơ và hẹn trả kết quả (Mẫu số 01)."""

    dossier_code: str  # e.g. "000.00.08.H38-250714-0012"
    unit_code: str
    unit_name: str | None
    procedure_code: str
    procedure_name: str  # already in the chosen language
    applicant_name: str
    applicant_citizen_id: str  # 12 digits; printed masked (********1234)
    applicant_phone: str | None
    applicant_email: str | None
    applicant_address: str
    documents: tuple[ReceiptDocument, ...]
    received_at: datetime  # tz-aware; printed in Asia/Ho_Chi_Minh
    appointment_at: datetime  # tz-aware; printed in Asia/Ho_Chi_Minh
    return_method: str  # "desk" | "post" | "online"
    channel: str  # "desk" | "online" | "post"
    officer_name: str
    lookup_url: str  # encoded in the QR code
    lookup_pin: str | None  # printed only when given
    fee_vnd: int

    def __post_init__(self) -> None:
        for field_name in ("received_at", "appointment_at"):
            value: datetime = getattr(self, field_name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"{field_name} must be timezone-aware, got {value!r}")
        if self.return_method not in RETURN_METHODS:
            raise ValueError(
                f"return_method must be one of {RETURN_METHODS}, got {self.return_method!r}"
            )
        if self.channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}, got {self.channel!r}")
        if self.fee_vnd < 0:
            raise ValueError(f"fee_vnd must be >= 0, got {self.fee_vnd}")
        if not self.lookup_url:
            raise ValueError("lookup_url is required (it is encoded in the QR code)")
