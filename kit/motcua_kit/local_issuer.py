"""A token issuer for tests and benchmarks: real keys, a real JWKS over HTTP, no login.

    issuer = LocalIssuer(workdir)           # an RSA key, and `python -m http.server` serving
    issuer.start()                          # <url>/.well-known/openid-configuration and <url>/jwks
    token = issuer.token(roles=["reception"], unit="000.00.08.H38")
    issuer.rotate()                         # a new key, published next to the old one
    issuer.stop()

The services verify these tokens exactly as they verify the identity provider's: they read the
keys from the JWKS URL. What this does not do is sign anyone in; the provider tests use the
development identity provider (deploy/dev-idp) for that.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from motcua_kit.auth import DEFAULT_AUDIENCE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalIssuer:
    def __init__(self, workdir: Path, audience: str = DEFAULT_AUDIENCE) -> None:
        self.root = Path(workdir)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.audience = audience
        self.keys: list[tuple[str, Any, str]] = []  # (kid, private key, alg), newest last
        self.process: subprocess.Popen[bytes] | None = None
        self.rotate(keep_old=False)

    # --- keys ----------------------------------------------------------------------------

    def rotate(self, keep_old: bool = True, alg: str = "RS256") -> str:
        """A new signing key; the old ones stay published unless `keep_old` is false."""
        private = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if alg == "RS256"
            else ec.generate_private_key(ec.SECP256R1())
        )
        kid = uuid.uuid4().hex[:16]
        self.keys = [*self.keys, (kid, private, alg)] if keep_old else [(kid, private, alg)]
        self._publish()
        return kid

    def _publish(self) -> None:
        jwks: dict[str, list[dict[str, Any]]] = {"keys": []}
        for kid, private, alg in self.keys:
            algorithm = jwt.algorithms.get_default_algorithms()[alg]
            jwk = json.loads(algorithm.to_jwk(private.public_key()))
            jwks["keys"].append({**jwk, "kid": kid, "use": "sig", "alg": alg})
        well_known = self.root / ".well-known"
        well_known.mkdir(exist_ok=True)
        (self.root / "jwks.json").write_text(json.dumps(jwks))
        (well_known / "openid-configuration").write_text(
            json.dumps({"issuer": self.url, "jwks_uri": f"{self.url}/jwks.json"})
        )

    # --- tokens --------------------------------------------------------------------------

    def token(
        self,
        *,
        roles: list[str],
        unit: str | None,
        sub: str = "officer-1",
        name: str | None = None,
        ttl_seconds: int = 12 * 3600,
        **claims: Any,
    ) -> str:
        """A signed access token; `claims` add to or override the standard ones (iss, aud...);
        a claim given as None is left out (a citizen has no unit)."""
        kid, private, alg = self.keys[-1]
        now = int(time.time())
        body = {
            "iss": self.url,
            "aud": self.audience,
            "sub": sub,
            "name": name or f"Cán bộ {sub}",
            "unit": unit,
            "roles": roles,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, private, algorithm=alg, headers={"kid": kid})

    def config(self) -> dict[str, str]:
        """What a service needs to trust this issuer."""
        return {"OIDC_ISSUER": self.url, "OIDC_AUDIENCE": self.audience}

    # --- the HTTP server -------------------------------------------------------------------

    def start(self) -> LocalIssuer:
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "http.server", str(self.port), "--bind", "127.0.0.1"],
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the local issuer did not listen on {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def __enter__(self) -> LocalIssuer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_SHARED: LocalIssuer | None = None


def shared_issuer() -> LocalIssuer:
    """This process's issuer (tests, benchmarks), started on first use, stopped at exit."""
    global _SHARED
    if _SHARED is None:
        import atexit
        import tempfile

        _SHARED = LocalIssuer(Path(tempfile.mkdtemp(prefix="motcua-issuer-"))).start()
        atexit.register(_SHARED.stop)
    return _SHARED
