"""The token verifier against a real JWKS served over HTTP (the local issuer)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest
from motcua_kit.auth import ClaimNames, KeySet, TokenVerifier, claim
from motcua_kit.errors import ApiError
from motcua_kit.local_issuer import LocalIssuer


@pytest.fixture(scope="module")
def issuer(tmp_path_factory) -> Iterator[LocalIssuer]:
    with LocalIssuer(tmp_path_factory.mktemp("issuer")) as started:
        yield started


@pytest.fixture
def verifier(issuer) -> TokenVerifier:
    return TokenVerifier(issuer.url, keys=KeySet(issuer.url, min_refresh_seconds=0))


def officer_token(issuer: LocalIssuer, **claims) -> str:
    return issuer.token(roles=["reception"], unit="U1", sub="o-1", name="Nguyễn Văn A", **claims)


def refused(verifier: TokenVerifier, header: str | None) -> ApiError:
    with pytest.raises(ApiError) as caught:
        verifier.verify(header)
    assert caught.value.status == 401, caught.value
    return caught.value


def test_a_valid_token_names_its_holder(issuer, verifier):
    officer = verifier.verify(f"Bearer {officer_token(issuer, agency='A1')}")
    assert (officer.id, officer.name, officer.unit, officer.agency, officer.roles) == (
        "o-1",
        "Nguyễn Văn A",
        "U1",
        "A1",
        ("reception",),
    )
    assert officer.issuer == issuer.url
    assert officer.audit_actor()["roles"] == ["reception"]
    assert officer.has_any(("reception", "admin")) and not officer.has_any(("supervisor",))


def test_the_agency_defaults_to_the_unit(issuer, verifier):
    assert verifier.verify(f"Bearer {officer_token(issuer)}").agency == "U1"


def test_an_es256_key_is_accepted(tmp_path):
    with LocalIssuer(tmp_path) as es:
        es.rotate(keep_old=False, alg="ES256")
        verifier = TokenVerifier(es.url)
        token = es.token(roles=["processing"], unit="BHXH.H38")
        assert jwt.get_unverified_header(token)["alg"] == "ES256"
        assert verifier.verify(f"Bearer {token}").unit == "BHXH.H38"


def test_a_citizen_needs_no_unit(issuer, verifier):
    # Keycloak adds roles of its own (default-roles-<realm>): they do not make a citizen an officer.
    token = issuer.token(roles=["citizen", "default-roles-motcua"], unit=None, sub="c-1")
    citizen = verifier.verify(f"Bearer {token}")
    assert citizen.roles == ("citizen",) and citizen.unit == ""


def test_the_refresh_interval_may_be_zero():
    verifier = TokenVerifier.from_config(
        {"OIDC_ISSUER": "https://idp.example", "OIDC_JWKS_MIN_REFRESH_SECONDS": 0}
    )
    assert verifier.keys.min_refresh_seconds == 0


def _unsigned(issuer: LocalIssuer) -> str:
    body = jwt.decode(officer_token(issuer), options={"verify_signature": False})
    return jwt.encode(body, None, algorithm="none")


def _guessed_hs256(issuer: LocalIssuer) -> str:
    body = jwt.decode(officer_token(issuer), options={"verify_signature": False})
    return jwt.encode(body, "motcua-dev-secret-change-me-in-production", algorithm="HS256")


def _other_key(issuer: LocalIssuer, tmp_path) -> str:
    stranger = LocalIssuer(tmp_path)  # a key of its own, never published by `issuer`
    stranger.url = issuer.url
    kid = issuer.keys[-1][0]
    stranger.keys = [(kid, stranger.keys[0][1], "RS256")]
    return stranger.token(roles=["admin"], unit="U1")


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda i, t: None, "unauthenticated"),
        (lambda i, t: "Basic abc", "unauthenticated"),
        (lambda i, t: "Bearer not-a-jwt", "invalid_token"),
        (lambda i, t: f"Bearer {_unsigned(i)}", "algorithm_not_allowed"),
        (lambda i, t: f"Bearer {_guessed_hs256(i)}", "algorithm_not_allowed"),
        (lambda i, t: f"Bearer {_other_key(i, t)}", "invalid_signature"),
        (lambda i, t: f"Bearer {officer_token(i, exp=int(time.time()) - 3600)}", "token_expired"),
        (
            lambda i, t: f"Bearer {officer_token(i, nbf=int(time.time()) + 3600)}",
            "token_not_yet_valid",
        ),
        (lambda i, t: f"Bearer {officer_token(i, iss='https://other.example')}", "invalid_issuer"),
        (lambda i, t: f"Bearer {officer_token(i, aud='another-api')}", "invalid_audience"),
        (lambda i, t: f"Bearer {officer_token(i, exp=None)}", "invalid_token"),
        (lambda i, t: f"Bearer {i.token(roles=['reception'], unit='')}", "invalid_token"),
        (lambda i, t: f"Bearer {i.token(roles='reception x', unit='U')}", None),
    ],
    ids=[
        "no-header",
        "basic",
        "garbage",
        "alg-none",
        "hs256-guessed-key",
        "unpublished-key",
        "expired",
        "not-yet-valid",
        "other-issuer",
        "other-audience",
        "no-expiry",
        "no-unit",
        "roles-as-string",
    ],
)
def test_bad_tokens_are_401_with_a_reason(issuer, verifier, tmp_path, make, code):
    header = make(issuer, tmp_path)
    if code is None:  # a space-separated string of roles is how some providers send them
        assert verifier.verify(header).roles == ("reception",)
        return
    error = refused(verifier, header)
    assert error.code == code
    assert error.message  # words for the person, never a traceback


def test_a_rotated_key_is_fetched_without_a_restart(issuer, verifier):
    assert verifier.verify(f"Bearer {officer_token(issuer)}")
    issuer.rotate(keep_old=False)  # the provider publishes a new key and drops the old one
    assert verifier.verify(f"Bearer {officer_token(issuer)}").unit == "U1"


def test_an_unknown_key_does_not_refetch_more_than_allowed(issuer):
    keys = KeySet(issuer.url, min_refresh_seconds=3600)
    verifier = TokenVerifier(issuer.url, keys=keys)
    verifier.verify(f"Bearer {officer_token(issuer)}")
    fetched_at = keys._fetched_at
    issuer.rotate(keep_old=False)
    assert refused(verifier, f"Bearer {officer_token(issuer)}").code == "unknown_key"
    assert keys._fetched_at == fetched_at  # a flood of random kids cannot hammer the provider


def test_a_provider_that_does_not_answer_is_503_not_500(tmp_path):
    down = LocalIssuer(tmp_path)  # never started
    with pytest.raises(ApiError) as caught:
        TokenVerifier(down.url).verify(f"Bearer {down.token(roles=['reception'], unit='U')}")
    assert caught.value.status == 503
    assert caught.value.code == "provider_unavailable"


def test_claim_names_are_configurable(issuer):
    names = ClaimNames.from_config(
        {"OIDC_CLAIM_ROLES": "realm_access.roles", "OIDC_CLAIM_UNIT": "motcua_unit"}
    )
    verifier = TokenVerifier(issuer.url, claims=names)
    token = issuer.token(
        roles=[], unit="", realm_access={"roles": ["supervisor", "offline_access"]}, motcua_unit="X"
    )
    officer = verifier.verify(f"Bearer {token}")
    assert officer.roles == ("supervisor",) and officer.unit == "X"
    assert claim({"a": {"b": 1}}, "a.b") == 1 and claim({"a": 1}, "a.b") is None


def test_from_config_needs_an_issuer():
    with pytest.raises(ValueError, match="OIDC_ISSUER"):
        TokenVerifier.from_config({})


def test_concurrent_requests_fetch_the_keys_once(issuer, monkeypatch):
    import eventlet
    import motcua_kit.auth as auth

    fetched: list[str] = []
    real_get = auth.requests.get

    def counting_get(url, **kwargs):
        fetched.append(url)
        return real_get(url, **kwargs)

    monkeypatch.setattr(auth.requests, "get", counting_get)
    verifier = TokenVerifier(issuer.url)
    pool = eventlet.GreenPool()
    tokens = [officer_token(issuer) for _ in range(10)]
    officers = list(pool.imap(lambda t: verifier.verify(f"Bearer {t}"), tokens))
    assert [o.unit for o in officers] == ["U1"] * 10
    assert len(fetched) == 2, fetched  # the discovery document and the JWKS, once
