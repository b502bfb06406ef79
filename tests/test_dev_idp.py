"""The development identity provider (deploy/dev-idp, oidc-provider), for real: started as a
subprocess, its tokens obtained the way `make token` obtains them (authorization code + PKCE by
motcua_kit.devtoken, client credentials for a system) and verified by the services' own
`TokenVerifier`; its login page refuses a wrong password and is filled in by a real browser
(Debian's Chromium driven by Playwright); a key rotation needs no restart of the verifier.

Without `chromium` the browser test skips, and fails when MOTCUA_REQUIRE_CHROMIUM=1 (CI).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from dev_idp import PEOPLE_FILE, REPO, DevIdp
from motcua_kit.auth import ROLES, KeySet, TokenVerifier
from motcua_kit.devtoken import DevTokenError, Directory, Provider, login_form, token_for
from motcua_kit.errors import ApiError

CHROMIUM = shutil.which("chromium")
if CHROMIUM is None and os.environ.get("MOTCUA_REQUIRE_CHROMIUM") == "1":
    raise RuntimeError("MOTCUA_REQUIRE_CHROMIUM=1 but no `chromium` binary is installed")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no `chromium` binary (Debian: apt-get install chromium)"
)
DIRECTORY = Directory.load(PEOPLE_FILE)
WRONG_LOGIN = "Tên đăng nhập hoặc mật khẩu không đúng"


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevIdp]:
    provider = DevIdp(tmp_path_factory.mktemp("dev-idp")).start()
    yield provider
    provider.stop()


def verifier_for(idp: DevIdp, min_refresh_seconds: float = 10.0) -> TokenVerifier:
    config = idp.config()
    if min_refresh_seconds == 10.0:
        return TokenVerifier.from_config(config)
    return TokenVerifier(
        config["OIDC_ISSUER"],
        audience=config["OIDC_AUDIENCE"],
        keys=KeySet(config["OIDC_ISSUER"], min_refresh_seconds=min_refresh_seconds),
    )


def unverified(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hs256(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    """A token MACed with `key` (the algorithm-confusion forgery: the public key as HMAC secret)."""
    signing_input = f"{b64(header)}.{b64(claims)}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def public_pem(idp: DevIdp, kid: str) -> bytes:
    jwks = requests.get(idp.discovery()["jwks_uri"], timeout=5).json()
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == kid]
    public = jwt.PyJWK(jwk).key
    return bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


# --- what the provider publishes -----------------------------------------------------------------


def test_discovery_and_keys_are_published(idp: DevIdp) -> None:
    """Discovery names the issuer and endpoints; code flow with S256 PKCE and client credentials
    only; the JWKS holds public RSA signing keys (no private part) with a kid."""
    meta = idp.discovery()
    assert meta["issuer"] == idp.issuer
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        assert meta[endpoint].startswith(idp.issuer + "/"), endpoint
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert {"authorization_code", "client_credentials"} <= set(meta["grant_types_supported"])
    assert "implicit" not in meta["grant_types_supported"]
    keys = requests.get(meta["jwks_uri"], timeout=5).json()["keys"]
    assert keys
    for key in keys:
        assert key["kty"] == "RSA" and key["kid"] and key.get("use", "sig") == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "a private part is published"
    assert requests.get(f"{idp.issuer}/health", timeout=5).json()["status"] == "ok"


def test_the_demo_directory_is_complete() -> None:
    """The people the issue asks for: reception of two communes, processing of the commune, the
    Police and Social Insurance, a commune and a province supervisor, an operator, two citizens;
    distinct Vietnamese names; officers with a unit, citizens with a citizen ID and none."""
    people = DIRECTORY.people
    kinds = {(p["roles"][0], p.get("unit")) for p in people}
    assert {
        ("reception", "000.00.08.H38"),
        ("reception", "000.00.09.H38"),
        ("processing", "000.00.08.H38"),
        ("processing", "CA.H38.08"),
        ("processing", "BHXH.H38"),
        ("supervisor", "000.00.08.H38"),
        ("supervisor", "000.00.00.H38"),
        ("admin", "000.00.00.H38"),
        ("citizen", None),
    } == kinds
    assert len({p["name"] for p in people}) == len(people)
    assert len({p["username"] for p in people}) == len(people)
    for person in people:
        assert set(person["roles"]) <= set(ROLES), person["username"]
        if person["roles"] == ["citizen"]:
            assert "unit" not in person and len(person["citizen_id"]) == 12
        else:
            assert person["unit"] and person["agency"] and person["unit_name"]
    citizens = [p for p in people if p["roles"] == ["citizen"]]
    assert len(citizens) == 2
    anh = DIRECTORY.person("nguyenthianh")
    assert (anh["name"], anh["citizen_id"], anh["phone_number"], anh["email"]) == (
        "Nguyễn Thị Ánh",
        "042199001234",
        "0912345678",
        "anh@example.vn",
    )
    clients = {c["client_id"]: c for c in DIRECTORY.clients}
    assert clients["motcua-cli"]["public"] is True and "client_secret" not in clients["motcua-cli"]
    assert clients["motcua-web"]["client_secret"]
    assert clients["motcua-web"]["redirect_uris"] == ["http://localhost:8000/auth/callback"]
    assert clients["he-thong-cong-an"]["grant_types"] == ["client_credentials"]


# --- tokens, as `make token` gets them ------------------------------------------------------------


@pytest.mark.parametrize("username", [p["username"] for p in DIRECTORY.people])
def test_every_demo_person_signs_in_and_the_token_verifies(idp: DevIdp, username: str) -> None:
    """Code flow + PKCE through the login form; the services' TokenVerifier accepts the token
    (issuer, audience motcua, RS256 from the JWKS) and reads who it is from its claims."""
    person = DIRECTORY.person(username)
    token = token_for(user=username, issuer=idp.issuer, directory=DIRECTORY)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["kid"]
    officer = verifier_for(idp).verify(f"Bearer {token}")
    assert officer.id == username
    assert officer.name == person["name"]
    assert officer.roles == tuple(person["roles"])
    assert officer.unit == person.get("unit", "")
    assert officer.agency == person.get("agency", person.get("unit", ""))
    assert officer.issuer == idp.issuer
    claims = unverified(token)
    assert claims["aud"] == "motcua"
    assert claims["client_id"] == "motcua-cli"
    if "citizen_id" in person:
        assert claims["citizen_id"] == person["citizen_id"]
        assert "unit" not in claims
    else:
        assert "citizen_id" not in claims


def test_a_person_is_picked_by_role_and_unit(idp: DevIdp) -> None:
    """`make token ROLE=... UNIT=...` picks the demo person with that role and unit."""
    verifier = verifier_for(idp)
    for role, unit, name in (
        ("reception", "000.00.09.H38", "Phạm Văn Đức"),
        ("processing", "BHXH.H38", "Đặng Thu Hà"),
        ("supervisor", "000.00.00.H38", "Bùi Đức Thắng"),
    ):
        token = token_for(role=role, unit=unit, issuer=idp.issuer, directory=DIRECTORY)
        officer = verifier.verify(f"Bearer {token}")
        assert (officer.name, officer.roles, officer.unit) == (name, (role,), unit)
    with pytest.raises(DevTokenError) as unknown:
        token_for(role="processing", unit="NO.SUCH", issuer=idp.issuer, directory=DIRECTORY)
    assert unknown.value.status == 2


def test_a_system_gets_a_client_credentials_token(idp: DevIdp) -> None:
    """The Police's system: client credentials, its roles (system) and unit in the token."""
    token = token_for(client_id="he-thong-cong-an", issuer=idp.issuer, directory=DIRECTORY)
    officer = verifier_for(idp).verify(f"Bearer {token}")
    assert officer.roles == ("system",)
    assert (officer.id, officer.unit, officer.agency) == (
        "he-thong-cong-an",
        "CA.H38.08",
        "CA.H38.08",
    )
    # --role system --unit picks the same client
    again = token_for(role="system", unit="CA.H38.08", issuer=idp.issuer, directory=DIRECTORY)
    assert unverified(again)["client_id"] == "he-thong-cong-an"
    # a wrong secret gets nothing
    meta = idp.discovery()
    refused = requests.post(
        meta["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=("he-thong-cong-an", "guessed"),
        timeout=5,
    )
    assert refused.status_code == 401 and "access_token" not in refused.json()


def test_the_command_prints_only_the_token_or_one_line_of_error(idp: DevIdp) -> None:
    """`python -m motcua_kit.devtoken` prints the token alone; without a provider, exit 2 and one
    line saying so."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "kit"), "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "motcua_kit.devtoken"]
    done = subprocess.run(
        [*command, "--issuer", idp.issuer, "--role", "reception", "--unit", "000.00.08.H38"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    (line,) = done.stdout.splitlines()
    assert verifier_for(idp).verify(f"Bearer {line}").name == "Lê Thị Hồng Nhung"
    closed = DevIdp(idp.workdir / "closed")  # a free port where nothing listens
    down = subprocess.run(
        [*command, "--issuer", closed.issuer, "--user", "quantri"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert down.returncode == 2
    assert down.stdout == ""
    (message,) = down.stderr.splitlines()
    assert "not running" in message and closed.issuer in message


# --- the login page ---------------------------------------------------------------------------


def test_the_login_page_refuses_a_wrong_password(idp: DevIdp) -> None:
    """A wrong password (or an unknown user) gets the form again with the reason in words, status
    401, and no code: nothing is issued. The same interaction then signs in the right password."""
    provider = Provider(idp.issuer)
    request = provider.authorization_request(DIRECTORY.client("motcua-cli"))
    page = provider.http.get(request.url, timeout=5)  # follows to the login page
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text
    form = login_form(page.text)
    assert form is not None and form["method"] == "post"
    assert {"username", "password"} <= set(form["fields"])
    action = urljoin(page.url, form["action"])
    for username, password in (("tiepnhan.thachbinh", "wrong"), ("nobody", "motcua-demo")):
        refused = provider.http.post(
            action,
            data={"username": username, "password": password},
            allow_redirects=False,
            timeout=5,
        )
        assert refused.status_code == 401
        assert WRONG_LOGIN in refused.text
        assert "location" not in refused.headers
        assert "code=" not in refused.text
        assert login_form(refused.text) is not None
    accepted = provider.http.post(
        action,
        data={"username": "tiepnhan.thachbinh", "password": "motcua-demo"},
        allow_redirects=False,
        timeout=5,
    )
    assert accepted.status_code == 303
    location = accepted.headers["location"]
    for _ in range(5):  # through the provider's own resume/consent hops to the client
        if location.startswith(request.redirect_uri):
            break
        hop = provider.http.get(urljoin(idp.issuer, location), allow_redirects=False, timeout=5)
        location = hop.headers["location"]
    token = provider.redeem(request, location)
    assert verifier_for(idp).verify(f"Bearer {token}").name == "Lê Thị Hồng Nhung"
    with pytest.raises(DevTokenError, match="wrong username or password"):
        Provider(idp.issuer).sign_in("quantri", "not-it", DIRECTORY.client("motcua-cli"))


def test_pkce_is_required_for_the_public_client(idp: DevIdp) -> None:
    """The command-line client cannot sign in without a code challenge."""
    meta = idp.discovery()
    client = DIRECTORY.client("motcua-cli")
    response = requests.get(
        meta["authorization_endpoint"],
        params={
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": client["redirect_uris"][0],
            "scope": "openid",
            "state": "s",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert response.status_code in (302, 303)
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["invalid_request"]
    assert "code" not in query


@needs_chromium
def test_a_browser_signs_in_on_the_login_page(idp: DevIdp, tmp_path: Path) -> None:
    """Chromium opens motcua-cli's authorize URL, lands on the provider's page (Vietnamese first),
    is refused a wrong password in words, signs in as the reception officer and is sent to the
    client's redirect URI with a code, which redeems to a token the verifier accepts."""
    provider = Provider(idp.issuer)
    request = provider.authorization_request(DIRECTORY.client("motcua-cli"))
    # Playwright's sync API does not run under nameko's eventlet: the browser is driven from a
    # plain Python process (tests/dev_idp.py), which saves a screenshot and the HTML on failure.
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("dev_idp.py")),
            "browser-sign-in",
            "--chromium",
            str(CHROMIUM),
            "--url",
            request.url,
            "--redirect-uri",
            request.redirect_uri,
            "--username",
            "tiepnhan.thachbinh",
            "--password",
            "motcua-demo",
            "--wrong-password",
            "mat-khau-sai",
            "--artifacts",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["lang"] == "vi"
    assert seen["heading"] == "Đăng nhập"
    assert WRONG_LOGIN in seen["refusal"]
    assert seen["redirected_before_sign_in"] == []
    location = seen["location"]
    assert location.startswith(request.redirect_uri)
    assert parse_qs(urlsplit(location).query)["code"]
    token = provider.redeem(request, location)
    officer = verifier_for(idp).verify(f"Bearer {token}")
    assert (officer.name, officer.roles, officer.unit) == (
        "Lê Thị Hồng Nhung",
        ("reception",),
        "000.00.08.H38",
    )


# --- keys ----------------------------------------------------------------------------------------


def test_key_rotation_needs_no_restart_and_forgeries_are_refused(tmp_path: Path) -> None:
    """The provider restarts with a fresh keys file (a new kid); the same TokenVerifier accepts the
    new token (its key set refreshes on the unknown kid) and refuses the old key, which is no longer
    published. `alg: none`, HS256 keyed with a guess, and a token whose claims were changed after
    signing: all 401."""
    idp = DevIdp(tmp_path).start()
    try:
        verifier = verifier_for(idp, min_refresh_seconds=0)
        first = token_for(user="xuly.thachbinh", issuer=idp.issuer, directory=DIRECTORY)
        assert verifier.verify(f"Bearer {first}").name == "Trần Quang Huy"
        old_kid = jwt.get_unverified_header(first)["kid"]

        idp.restart(new_keys=True)
        second = token_for(user="xuly.thachbinh", issuer=idp.issuer, directory=DIRECTORY)
        new_kid = jwt.get_unverified_header(second)["kid"]
        assert new_kid != old_kid
        assert verifier.verify(f"Bearer {second}").name == "Trần Quang Huy"
        with pytest.raises(ApiError) as retired:
            verifier.verify(f"Bearer {first}")
        assert (retired.value.status, retired.value.code) == (401, "unknown_key")

        claims = {**unverified(second), "roles": ["admin"]}
        header = jwt.get_unverified_header(second)
        signature = second.rsplit(".", 1)[1]
        forgeries = {
            "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.",
            "alg none with kid": f"{b64({'alg': 'none', 'kid': new_kid})}.{b64(claims)}.",
            "HS256": jwt.encode(claims, "motcua-dev-secret-change-me-in-production", "HS256"),
            "HS256 keyed with the public key": hs256(
                {"alg": "HS256", "kid": new_kid}, claims, public_pem(idp, new_kid)
            ),
            "claims changed": f"{b64(header)}.{b64(claims)}.{signature}",
        }
        for name, forged in forgeries.items():
            with pytest.raises(ApiError) as refused:
                verifier.verify(f"Bearer {forged}")
            assert refused.value.status == 401, name
    finally:
        idp.stop()
