"""Officers' bearer tokens (JWT): verification, roles, and a development token printer.

A token carries `sub` (officer id), `name`, `unit` (the unit code the officer works for) and
`roles`. It is verified against `JWT_SECRET` (HS256) or, where a deployment uses an identity
provider, `JWT_PUBLIC_KEY` (RS256/ES256). Entrypoints deny unless they name the roles they allow.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from motcua_kit.errors import ApiError

ROLES = ("reception", "processing", "supervisor", "admin", "system")
ISSUER = "motcua"
DEV_SECRET = "motcua-dev-secret-change-me-in-production"  # noqa: S105  (development default only)


@dataclass(frozen=True)
class Officer:
    id: str
    name: str
    unit: str
    roles: tuple[str, ...]

    def has_any(self, roles: tuple[str, ...]) -> bool:
        return any(role in self.roles for role in roles)

    def as_actor(self) -> dict[str, str]:
        """How an officer is recorded against an action and in events."""
        return {"id": self.id, "name": self.name, "unit": self.unit}


@dataclass(frozen=True)
class TokenVerifier:
    key: str
    algorithms: tuple[str, ...]
    leeway: int = 30

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TokenVerifier:
        public_key = config.get("JWT_PUBLIC_KEY") or ""
        if public_key:
            return cls(public_key, ("RS256", "ES256"))
        return cls(config.get("JWT_SECRET") or DEV_SECRET, ("HS256",))

    def verify(self, authorization: str | None) -> Officer:
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiError(
                401, "unauthenticated", "Cần đăng nhập: thiếu mã xác thực (Bearer token)"
            )
        token = authorization[len("Bearer ") :].strip()
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=list(self.algorithms),
                issuer=ISSUER,
                leeway=self.leeway,
                options={"require": ["exp", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ApiError(401, "token_expired", "Phiên đăng nhập đã hết hạn") from exc
        except jwt.InvalidTokenError as exc:
            raise ApiError(401, "invalid_token", "Mã xác thực không hợp lệ") from exc
        roles = claims.get("roles")
        unit = claims.get("unit")
        if not isinstance(roles, list) or not isinstance(unit, str) or not unit:
            raise ApiError(401, "invalid_token", "Mã xác thực thiếu đơn vị hoặc vai trò")
        return Officer(
            id=str(claims["sub"]),
            name=str(claims.get("name") or claims["sub"]),
            unit=unit,
            roles=tuple(r for r in roles if r in ROLES),
        )


def issue_token(
    secret: str,
    *,
    officer_id: str,
    name: str,
    unit: str,
    roles: list[str],
    ttl_seconds: int = 12 * 3600,
) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": officer_id,
        "name": name,
        "unit": unit,
        "roles": roles,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


DEMO_NAMES = {
    "reception": "Nguyễn Thị Lan",
    "processing": "Trần Văn Minh",
    "supervisor": "Lê Hoàng Nam",
    "admin": "Phạm Quốc Bảo",
    "system": "Hệ thống",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print one development token and nothing else.")
    parser.add_argument("--role", default="reception", choices=ROLES)
    parser.add_argument("--unit", default="000.00.08.H38")
    parser.add_argument("--officer", default=None)
    parser.add_argument("--name", default=None)
    parser.add_argument("--ttl", type=int, default=12 * 3600)
    args = parser.parse_args(argv)
    secret = os.environ.get("JWT_SECRET") or DEV_SECRET
    token = issue_token(
        secret,
        officer_id=args.officer or f"demo-{args.role}",
        name=args.name or DEMO_NAMES[args.role],
        unit=args.unit,
        roles=[args.role],
        ttl_seconds=args.ttl,
    )
    sys.stdout.write(token + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
