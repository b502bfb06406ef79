"""The outbound address check (egress.Guard) with a resolver the test controls: the check itself
is the real code, only the DNS answer is chosen."""

from __future__ import annotations

import ipaddress

import pytest
from notification.adapters.egress import Guard, Refused, parse_networks
from notification.adapters.webhook import Call, WebhookPoster
from notification.domain import outcome
from notification.providers import channels_from_config


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[str]:
        return table.get(host, [])

    return resolve


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        (["127.0.0.1"], "address_loopback"),
        (["93.184.216.34", "10.1.2.3"], "address_private"),  # one bad address among good ones
        (["169.254.169.254"], "address_link_local"),
        (["::ffff:192.168.1.1"], "address_private"),
        (["100.64.0.1"], "reserved"),
        ([], "unresolvable"),
    ],
)
def test_a_name_resolving_to_a_forbidden_address_is_refused(answers, code):
    guard = Guard(resolver=resolver({"rebind.example.vn": answers}))
    with pytest.raises(Refused) as refused:
        guard.resolve("https://rebind.example.vn/hook")
    assert refused.value.code.endswith(code) or refused.value.code == code


def test_a_public_name_passes_and_the_allowlist_lets_a_network_through():
    guard = Guard(resolver=resolver({"hotich.example.vn": ["93.184.216.34"]}))
    assert guard.resolve("https://hotich.example.vn/e") == (
        "hotich.example.vn",
        443,
        [ipaddress.ip_address("93.184.216.34")],
    )
    with pytest.raises(Refused):
        Guard().resolve("http://127.0.0.1:9/h")
    allowed = Guard(parse_networks("127.0.0.0/8"))
    assert allowed.resolve("http://127.0.0.1:9/h")[2] == [ipaddress.ip_address("127.0.0.1")]
    with pytest.raises(Refused):
        allowed.resolve("http://10.0.0.1/h")


def test_delivery_refuses_a_name_that_now_resolves_inward_without_connecting():
    poster = WebhookPoster(guard=Guard(resolver=resolver({"rebind.example.vn": ["127.0.0.1"]})))
    result = poster.send(Call("d-1", "http://rebind.example.vn/hook", "s" * 32, {"type": "x"}))
    assert result.status == outcome.PERMANENT
    assert "refused" in result.detail


def test_production_refuses_an_allowlist():
    config = {"EMAIL_TRANSPORT": "folder", "SMS_TRANSPORT": "file"}
    channels_from_config({**config, "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"})  # development
    with pytest.raises(ValueError, match="WEBHOOK_ALLOWED_NETWORKS"):
        channels_from_config(
            {**config, "MOTCUA_ENV": "production", "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8"}
        )
    with pytest.raises(ValueError, match="not a network"):
        channels_from_config({**config, "WEBHOOK_ALLOWED_NETWORKS": "nope"})
