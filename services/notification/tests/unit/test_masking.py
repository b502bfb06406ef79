"""Masked recipients in the delivery log."""

from __future__ import annotations

import pytest
from notification.domain.masking import mask, mask_email, mask_phone, mask_url


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("anh@example.vn", "a***@example.vn"),
        ("nguyen.thi.anh@mail.hatinh.gov.vn", "n***@mail.hatinh.gov.vn"),
        ("x@example.vn", "x***@example.vn"),
        ("@example.vn", "***@example.vn"),
        ("not-an-address", "***"),
        ("anh@", "***"),
        ("", "***"),
    ],
)
def test_mask_email_keeps_the_first_letter_and_the_domain(address: str, masked: str) -> None:
    assert mask_email(address) == masked


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("0912345678", "091****678"),
        ("+84912345678", "+84******678"),
        ("0100000001", "010****001"),
        ("1234567", "123*567"),
        ("123456", "******"),
        ("113", "***"),
        ("", ""),
    ],
)
def test_mask_phone_keeps_three_digits_at_each_end(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


def test_mask_phone_keeps_the_length() -> None:
    assert len(mask_phone("0912345678")) == 10


def test_mask_dispatches_on_the_channel() -> None:
    assert mask("email", "anh@example.vn") == "a***@example.vn"
    assert mask("sms", "0912345678") == "091****678"
    # a webhook recipient is the subscriber's id, not personal data
    subscriber = "5f0c2a9e-1b7d-4c1e-9a43-2f8e7d6c5b4a"
    assert mask("webhook", subscriber) == subscriber


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://hotich.example.gov.vn/motcua/events", "https://hotich.example.gov.vn/…"),
        (
            "https://user:s3cret@hotich.example.gov.vn:8443/hook?token=abc#x",
            "https://hotich.example.gov.vn/…",
        ),
        ("http://10.0.0.5:8080/", "http://10.0.0.5/…"),
        ("HTTPS://HOTICH.Example.gov.vn/x", "https://hotich.example.gov.vn/…"),
    ],
)
def test_mask_url_keeps_only_scheme_and_host(url: str, masked: str) -> None:
    assert mask_url(url) == masked
