"""Test mode: reserved addresses get a simulated outcome, real ones none."""

from __future__ import annotations

import pytest
from notification.domain import outcome
from notification.domain.simulator import DOMAIN, simulate


def test_the_reserved_domain_cannot_exist() -> None:
    assert DOMAIN == "simulator.motcua.invalid"
    assert DOMAIN.endswith(".invalid")


@pytest.mark.parametrize(
    ("channel", "address", "status"),
    [
        ("email", "delivered@simulator.motcua.invalid", outcome.DELIVERED),
        ("email", "temporary@simulator.motcua.invalid", outcome.TEMPORARY),
        ("email", "permanent@simulator.motcua.invalid", outcome.PERMANENT),
        ("sms", "0100000001", outcome.DELIVERED),
        ("sms", "0100000002", outcome.TEMPORARY),
        ("sms", "0100000003", outcome.PERMANENT),
        ("webhook", "https://simulator.motcua.invalid/delivered", outcome.DELIVERED),
        ("webhook", "https://simulator.motcua.invalid/temporary", outcome.TEMPORARY),
        ("webhook", "https://simulator.motcua.invalid/permanent", outcome.PERMANENT),
    ],
)
def test_reserved_addresses_are_simulated(channel: str, address: str, status: str) -> None:
    assert simulate(channel, address) == outcome.Outcome(status, "test mode: simulated", None)


def test_case_and_surrounding_space_do_not_matter() -> None:
    assert simulate("email", "  Permanent@SIMULATOR.Motcua.Invalid ") == outcome.Outcome(
        outcome.PERMANENT, "test mode: simulated"
    )
    assert simulate("sms", " 0100000002\n") == outcome.temporary("test mode: simulated")


def test_simulated_delivery_succeeds_and_failures_do_not() -> None:
    delivered = simulate("sms", "0100000001")
    temporary = simulate("sms", "0100000002")
    assert delivered is not None and delivered.succeeded
    assert temporary is not None and not temporary.succeeded


@pytest.mark.parametrize(
    ("channel", "address"),
    [
        ("email", "anh@example.vn"),
        ("email", "other@simulator.motcua.invalid"),
        ("email", "delivered@simulator.motcua.invalid.example"),
        ("sms", "0912345678"),
        ("sms", "0100000004"),
        ("sms", "+84100000001"),  # only the reserved numbers as written
        ("webhook", "https://simulator.motcua.invalid/delivered/"),
        ("webhook", "http://simulator.motcua.invalid/delivered"),
        ("webhook", "https://hotich.example.gov.vn/motcua/events"),
        # an address reserved on one channel means nothing on another
        ("sms", "delivered@simulator.motcua.invalid"),
        ("email", "0100000001"),
        ("fax", "0100000001"),
    ],
)
def test_real_addresses_are_not_simulated(channel: str, address: str) -> None:
    assert simulate(channel, address) is None
