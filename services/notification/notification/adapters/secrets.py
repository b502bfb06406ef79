"""Subscribers' signing secrets at rest: Fernet (AES-128-CBC + HMAC) with `WEBHOOK_SECRET_KEY`.

The key is any string (a Fernet key from `Fernet.generate_key()` or a long random passphrase): it
is stretched with SHA-256 into the Fernet key. Several keys separated by commas rotate them: the
first encrypts, every one decrypts.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

DEV_KEY = "motcua-dev-webhook-key-change-me"  # development only: production refuses it


@dataclass(frozen=True)
class SecretBox:
    keys: tuple[str, ...] = (DEV_KEY,)

    @classmethod
    def from_setting(cls, raw: str | None) -> SecretBox:
        keys = tuple(k.strip() for k in str(raw or "").split(",") if k.strip())
        return cls(keys or (DEV_KEY,))

    @property
    def _fernet(self) -> MultiFernet:
        return MultiFernet(
            [
                Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))
                for key in self.keys
            ]
        )

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError("the webhook secret does not open with WEBHOOK_SECRET_KEY") from None
