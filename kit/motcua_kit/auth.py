"""People's and systems' bearer tokens: OpenID Connect access tokens verified against the
provider's published keys (JWKS), and what a verified token says about its holder.

A token is accepted only when it is signed RS256 or ES256 by a key the provider publishes, its
issuer is `OIDC_ISSUER`, its audience includes `OIDC_AUDIENCE`, and it is within its `nbf`/`exp`.
The claims naming the holder's unit, agency, roles, name and (citizens) personal identification
number are configurable (`OIDC_CLAIM_UNIT`, `OIDC_CLAIM_AGENCY`, `OIDC_CLAIM_ROLES`,
`OIDC_CLAIM_NAME`, `OIDC_CLAIM_CITIZEN_ID`; a dotted name
such as `realm_access.roles` reads inside an object), because every provider names them its own
way. Keys are cached; a token signed by a key not yet seen makes the cache refresh (at most once
every `OIDC_JWKS_MIN_REFRESH_SECONDS`), so the provider can rotate keys without a restart here.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import jwt
import requests

from motcua_kit.config import setting
from motcua_kit.errors import ApiError

log = logging.getLogger(__name__)

# reception: the desk; processing: an agency's officer; supervisor: oversight of units;
# admin: the platform's operator; citizen: a person following their own dossiers;
# system: another government system or a platform service (client credentials).
ROLES = ("reception", "processing", "supervisor", "admin", "citizen", "system")
ALGORITHMS = ("RS256", "ES256")
DEFAULT_AUDIENCE = "motcua"


@dataclass(frozen=True)
class Officer:
    """Whoever a verified token names: an officer, a citizen or a system.

    `unit` is the organisation the holder works for (a receiving unit or an agency); `agency` the
    agency they process for (the unit itself unless the provider says otherwise). `client` and
    `request_id` say where the request came from, for the audit trail.
    """

    id: str
    name: str
    unit: str
    roles: tuple[str, ...]
    agency: str = ""
    issuer: str = ""
    client: str = ""
    request_id: str = ""
    citizen_id: str = ""  # a citizen's personal identification number, from the provider

    def __post_init__(self) -> None:
        if not self.agency:
            object.__setattr__(self, "agency", self.unit)

    def has_any(self, roles: tuple[str, ...]) -> bool:
        return any(role in self.roles for role in roles)

    def as_actor(self) -> dict[str, str]:
        """How an officer is recorded against an action and in events."""
        return {"id": self.id, "name": self.name, "unit": self.unit}

    def audit_actor(self) -> dict[str, Any]:
        """Who, for the audit trail: everything the token said about its holder."""
        return {
            "id": self.id,
            "name": self.name,
            "unit": self.unit,
            "agency": self.agency,
            "roles": list(self.roles),
            "issuer": self.issuer,
        }

    def origin(self) -> dict[str, str]:
        """From where, for the audit trail."""
        return {"client": self.client, "request_id": self.request_id}

    def at(self, client: str, request_id: str) -> Officer:
        return replace(self, client=client, request_id=request_id)


@dataclass(frozen=True)
class ClaimNames:
    unit: str = "unit"
    agency: str = "agency"
    roles: str = "roles"
    name: str = "name"
    citizen_id: str = "citizen_id"

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ClaimNames:
        return cls(
            unit=str(config.get("OIDC_CLAIM_UNIT") or "unit"),
            agency=str(config.get("OIDC_CLAIM_AGENCY") or "agency"),
            roles=str(config.get("OIDC_CLAIM_ROLES") or "roles"),
            name=str(config.get("OIDC_CLAIM_NAME") or "name"),
            citizen_id=str(config.get("OIDC_CLAIM_CITIZEN_ID") or "citizen_id"),
        )


def claim(claims: dict[str, Any], name: str) -> Any:
    """`claims[name]`, where a dotted name reads inside objects (`realm_access.roles`)."""
    value: Any = claims
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


@dataclass
class KeySet:
    """The provider's signing keys, fetched from its JWKS document and cached.

    `jwks_url` empty: discovered from `<issuer>/.well-known/openid-configuration`.
    """

    issuer: str
    jwks_url: str = ""
    cache_seconds: float = 300.0
    min_refresh_seconds: float = 10.0
    timeout: float = 5.0
    _keys: dict[str, Any] = field(default_factory=dict)
    _fetched_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def key_for(self, kid: str | None) -> Any:
        now = time.monotonic()
        seen = self._fetched_at
        if not self._keys or now - seen > self.cache_seconds:
            self._refresh(now, seen)
        elif kid not in self._keys and now - seen > self.min_refresh_seconds:
            self._refresh(now, seen)  # a key we have not seen: the provider may have rotated
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        key = self._keys.get(kid or "")
        if key is None:
            raise ApiError(401, "unknown_key", "Mã xác thực được ký bằng khóa không được công bố")
        return key

    def _refresh(self, now: float, seen: float) -> None:
        with self._lock:
            if self._fetched_at != seen and self._keys:
                return  # another request fetched them while this one waited for the lock
            try:
                url = self.jwks_url or self._discover()
                response = requests.get(url, timeout=self.timeout)
                response.raise_for_status()
                jwk_set = jwt.PyJWKSet.from_dict(response.json())
            except (requests.RequestException, ValueError, jwt.PyJWKSetError) as exc:
                log.warning("cannot read the identity provider's keys: %s", exc)
                if not self._keys:
                    raise ApiError(
                        503,
                        "provider_unavailable",
                        "Không kiểm tra được đăng nhập: nhà cung cấp định danh không phản hồi",
                    ) from exc
                return  # keep the keys we had
            self._keys = {
                k.key_id or "": k for k in jwk_set.keys if (k.public_key_use or "sig") == "sig"
            }
            self._fetched_at = now

    def _discover(self) -> str:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        response = requests.get(url, timeout=self.timeout)
        response.raise_for_status()
        self.jwks_url = str(response.json()["jwks_uri"])
        return self.jwks_url


class TokenVerifier:
    """Verifies `Authorization: Bearer <access token>` and answers who holds it."""

    def __init__(
        self,
        issuer: str,
        audience: str = DEFAULT_AUDIENCE,
        keys: KeySet | None = None,
        claims: ClaimNames | None = None,
        leeway: int = 30,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.keys = keys or KeySet(issuer)
        self.claims = claims or ClaimNames()
        self.leeway = leeway

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TokenVerifier:
        issuer = str(config.get("OIDC_ISSUER") or "")
        if not issuer:
            raise ValueError("OIDC_ISSUER is not set: the identity provider's issuer URL")
        keys = KeySet(
            issuer,
            jwks_url=str(config.get("OIDC_JWKS_URL") or ""),
            cache_seconds=float(setting(config, "OIDC_JWKS_CACHE_SECONDS", 300)),
            min_refresh_seconds=float(setting(config, "OIDC_JWKS_MIN_REFRESH_SECONDS", 10)),
        )
        return cls(
            issuer,
            audience=str(config.get("OIDC_AUDIENCE") or DEFAULT_AUDIENCE),
            keys=keys,
            claims=ClaimNames.from_config(config),
        )

    def verify(self, authorization: str | None) -> Officer:
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiError(
                401, "unauthenticated", "Cần đăng nhập: thiếu mã xác thực (Bearer token)"
            )
        token = authorization[len("Bearer ") :].strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise ApiError(401, "invalid_token", "Mã xác thực không hợp lệ") from exc
        if header.get("alg") not in ALGORITHMS:
            raise ApiError(
                401,
                "algorithm_not_allowed",
                f"Mã xác thực dùng thuật toán không được chấp nhận ({header.get('alg')!s:.16})",
            )
        key = self.keys.key_for(header.get("kid"))
        claims = self._decode(token, key)
        return self._holder(claims)

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ApiError(401, "token_expired", "Phiên đăng nhập đã hết hạn") from exc
        except jwt.ImmatureSignatureError as exc:
            raise ApiError(401, "token_not_yet_valid", "Mã xác thực chưa có hiệu lực") from exc
        except jwt.InvalidIssuerError as exc:
            raise ApiError(
                401, "invalid_issuer", "Mã xác thực do nơi khác cấp (sai issuer)"
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise ApiError(
                401, "invalid_audience", "Mã xác thực không dành cho hệ thống này (sai audience)"
            ) from exc
        except jwt.MissingRequiredClaimError as exc:
            raise ApiError(401, "invalid_token", f"Mã xác thực thiếu trường {exc.claim}") from exc
        except jwt.InvalidSignatureError as exc:
            raise ApiError(401, "invalid_signature", "Chữ ký của mã xác thực không đúng") from exc
        except jwt.InvalidTokenError as exc:
            raise ApiError(401, "invalid_token", "Mã xác thực không hợp lệ") from exc
        return claims

    def _holder(self, claims: dict[str, Any]) -> Officer:
        roles = claim(claims, self.claims.roles)
        unit = claim(claims, self.claims.unit)
        if isinstance(roles, str):
            roles = roles.split()
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise ApiError(401, "invalid_token", "Mã xác thực thiếu vai trò")
        roles = [r for r in roles if r in ROLES]  # a provider's own roles mean nothing here
        if unit is None and roles == ["citizen"]:
            unit = ""  # a citizen works for no unit
        elif not isinstance(unit, str) or not unit:
            raise ApiError(401, "invalid_token", "Mã xác thực thiếu đơn vị")
        agency = claim(claims, self.claims.agency)
        citizen_id = claim(claims, self.claims.citizen_id) if "citizen" in roles else None
        return Officer(
            id=str(claims["sub"]),
            name=str(claim(claims, self.claims.name) or claims["sub"]),
            unit=unit,
            roles=tuple(roles),
            agency=agency if isinstance(agency, str) else "",
            issuer=str(claims["iss"]),
            citizen_id=citizen_id if isinstance(citizen_id, str) else "",
        )


def describe(token: str) -> str:
    """A token's claims as JSON, unverified, for a person debugging a provider's set-up."""
    return json.dumps(jwt.decode(token, options={"verify_signature": False}), ensure_ascii=False)
