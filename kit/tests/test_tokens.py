from __future__ import annotations

import time

import jwt
import pytest
from motcua_kit.auth import ISSUER, TokenVerifier, issue_token, main
from motcua_kit.errors import ApiError

SECRET = "a-test-secret-that-is-at-least-32-bytes"
verifier = TokenVerifier(SECRET, ("HS256",))


def token(**overrides):
    claims = {
        "iss": ISSUER,
        "sub": "o-1",
        "name": "Nguyễn Văn A",
        "unit": "U1",
        "roles": ["reception"],
        # Long enough to outlive the test run: the parametrized tokens are made at collection.
        "exp": int(time.time()) + 24 * 3600,
    }
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, SECRET, algorithm="HS256")


def test_valid_token_gives_the_officer():
    officer = verifier.verify(f"Bearer {token()}")
    assert (officer.id, officer.name, officer.unit, officer.roles) == (
        "o-1",
        "Nguyễn Văn A",
        "U1",
        ("reception",),
    )
    assert officer.has_any(("reception", "admin")) and not officer.has_any(("supervisor",))


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "unauthenticated"),
        ("Basic abc", "unauthenticated"),
        ("Bearer not-a-jwt", "invalid_token"),
        (f"Bearer {token(exp=int(time.time()) - 3600)}", "token_expired"),
        (f"Bearer {token(iss='someone-else')}", "invalid_token"),
        (f"Bearer {token(unit=None)}", "invalid_token"),
        (f"Bearer {token(roles='reception')}", "invalid_token"),
    ],
)
def test_bad_tokens_are_401(header, code):
    with pytest.raises(ApiError) as caught:
        verifier.verify(header)
    assert caught.value.status == 401
    assert caught.value.code == code


def test_token_signed_with_another_key_is_refused():
    forged = issue_token(
        "another-secret-that-is-32-bytes-long!", officer_id="x", name="x", unit="U", roles=["admin"]
    )
    with pytest.raises(ApiError):
        verifier.verify(f"Bearer {forged}")


def test_unknown_roles_are_dropped():
    officer = verifier.verify(f"Bearer {token(roles=['reception', 'god'])}")
    assert officer.roles == ("reception",)


def test_make_token_prints_one_token_and_nothing_else(capsys, monkeypatch):
    monkeypatch.setenv("JWT_SECRET", SECRET)
    assert main(["--role", "supervisor", "--unit", "000.00.08.H38"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    officer = verifier.verify(f"Bearer {out.strip()}")
    assert officer.roles == ("supervisor",) and officer.unit == "000.00.08.H38"
