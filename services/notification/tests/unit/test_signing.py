"""Webhook signatures: what a subscriber's check accepts and what it refuses."""

from __future__ import annotations

import pytest
from notification.domain.signing import DEFAULT_TOLERANCE, HEADER, digest, sign, verify

SECRET = "whsec_test"
T = 1751422504
BODY = b'{"type":"dossier.received"}'
# Computed independently: printf '1751422504.{"type":"dossier.received"}' | openssl dgst -sha256 -hmac whsec_test
KNOWN = "938ff0be3284705b1912579b68ad9ccbb748fe2a41c480dac4b14a6111dcc1cc"


def test_the_header_name_and_tolerance() -> None:
    assert HEADER == "X-Motcua-Signature"
    assert DEFAULT_TOLERANCE == 300


def test_digest_is_hmac_sha256_over_timestamp_dot_body() -> None:
    assert digest(SECRET, T, BODY) == KNOWN


def test_sign_formats_the_header() -> None:
    assert sign(SECRET, T, BODY) == f"t={T},v1={KNOWN}"


def test_verify_accepts_a_fresh_signature_of_this_body() -> None:
    assert verify(SECRET, sign(SECRET, T, BODY), BODY, now=T)
    assert verify(SECRET, f"t={T},v1={KNOWN}", BODY, now=T + 0.5)


def test_verify_accepts_utf8_bodies() -> None:
    body = '{"applicant":"Nguyễn Thị Ánh"}'.encode()
    assert verify(SECRET, sign(SECRET, T, body), body, now=T)


def test_verify_accepts_the_fields_in_either_order() -> None:
    assert verify(SECRET, f"v1={KNOWN},t={T}", BODY, now=T)


def test_verify_refuses_a_tampered_body() -> None:
    header = sign(SECRET, T, BODY)
    assert not verify(SECRET, header, b'{"type":"dossier.refused"}', now=T)
    assert not verify(SECRET, header, BODY + b" ", now=T)
    assert not verify(SECRET, header, b"", now=T)


def test_verify_refuses_a_wrong_secret() -> None:
    assert not verify("whsec_other", sign(SECRET, T, BODY), BODY, now=T)
    assert not verify(SECRET, sign("whsec_other", T, BODY), BODY, now=T)


def test_verify_refuses_a_changed_timestamp() -> None:
    # The timestamp is signed: moving it forward to pass the freshness check breaks the digest.
    assert not verify(SECRET, f"t={T + 60},v1={KNOWN}", BODY, now=T + 60)


@pytest.mark.parametrize("age", [-300, -1, 0, 1, 299, 300, 300.0])
def test_verify_accepts_a_timestamp_within_the_tolerance(age: float) -> None:
    assert verify(SECRET, sign(SECRET, T, BODY), BODY, now=T + age)


@pytest.mark.parametrize("age", [301, 300.5, 3600, -301, -3600])
def test_verify_refuses_a_stale_or_future_timestamp(age: float) -> None:
    assert not verify(SECRET, sign(SECRET, T, BODY), BODY, now=T + age)


def test_verify_uses_the_tolerance_given() -> None:
    header = sign(SECRET, T, BODY)
    assert verify(SECRET, header, BODY, now=T + 3000, tolerance=3600)
    assert not verify(SECRET, header, BODY, now=T + 31, tolerance=30)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        ",,,",
        f"v1={KNOWN}",  # no timestamp
        f"t={T}",  # no digest
        f"t={T},v1=",
        f"t=abc,v1={KNOWN}",
        f"t=,v1={KNOWN}",
        f"t={T}.0,v1={KNOWN}",
        f"t={T},v1={KNOWN[:-1]}",
        f"t={T},v1={KNOWN.upper()}",
        f"t={T};v1={KNOWN}",
        f"t={T},v0={KNOWN}",
    ],
)
def test_verify_refuses_a_missing_or_garbled_header(header: str | None) -> None:
    assert not verify(SECRET, header, BODY, now=T)


def test_verify_refuses_a_digest_with_non_ascii_characters() -> None:
    assert verify(SECRET, f"t={T},v1=é", BODY, now=T) is False
