"""Outbound calls that cannot be turned inward (SSRF): which addresses a webhook may reach.

A subscriber's host is resolved, every address it resolves to is checked, and the call then goes
to a checked address (webhook.WebhookPoster pins it: no second resolution between the check and
the connection). Refused: loopback, link-local, private and shared ranges, unspecified, multicast,
reserved and any other non-global address (IPv4-mapped IPv6 is judged as its IPv4 address), and
names of the platform's own network (no dot, `localhost`, `.local`, `.internal`, `.localhost`).
`WEBHOOK_ALLOWED_NETWORKS` (development and tests only) lets chosen networks through anyway.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from notification.domain import simulator

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")


class Refused(Exception):
    """The target may not be called: `code` for machines, `message` in Vietnamese for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def parse_networks(raw: str | Sequence[str] | None) -> tuple[Network, ...]:
    """`WEBHOOK_ALLOWED_NETWORKS`: CIDRs separated by commas (empty: none)."""
    items = raw.split(",") if isinstance(raw, str) else list(raw or [])
    networks = []
    for item in (str(i).strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"WEBHOOK_ALLOWED_NETWORKS: {item!r} is not a network (e.g. 127.0.0.0/8)"
            ) from None
    return tuple(networks)


def forbidden_kind(address: Address) -> str | None:
    """Why `address` may not be called (a short English word), or None for a global address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    checks = (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link_local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    )
    for kind, hit in checks:
        if hit:
            return kind
    if not address.is_global:  # shared (100.64/10), documentation, 6to4 of a private one...
        return "reserved"
    return None


KIND_WORDS = {
    "loopback": "địa chỉ nội bộ của máy (loopback)",
    "unspecified": "địa chỉ không xác định",
    "link_local": "địa chỉ link-local (như 169.254.x.x, fe80::)",
    "multicast": "địa chỉ multicast",
    "private": "địa chỉ mạng riêng (10/8, 172.16/12, 192.168/16, fc00::/7)",
    "reserved": "địa chỉ dành riêng, không phải địa chỉ Internet công cộng",
}


@dataclass(frozen=True)
class Guard:
    allowed: tuple[Network, ...] = ()
    resolver: Resolver = field(default=system_resolver)

    def is_allowed(self, address: Address) -> bool:
        return any(address.version == n.version and address in n for n in self.allowed)

    def check(self, address: Address, host: str | None = None) -> None:
        if self.is_allowed(address):
            return
        kind = forbidden_kind(address)
        if kind:
            target = f"tên miền {host} trỏ tới " if host else ""
            raise Refused(
                f"address_{kind}",
                f"Không được gửi tới {target}{KIND_WORDS[kind]}: {address}",
            )

    def resolve(self, url: str) -> tuple[str, int, list[Address]]:
        """(host, port, checked addresses) of `url`; Refused if any address may not be called."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise Refused("scheme", "Địa chỉ phải là URL http(s)")
        if parts.username is not None or parts.password is not None:
            raise Refused(
                "credentials",
                "Địa chỉ không được chứa tên đăng nhập hay mật khẩu (user:pass@);"
                " bên nhận xác thực cuộc gọi bằng chữ ký X-Motcua-Signature",
            )
        host = (parts.hostname or "").rstrip(".").lower()
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise Refused("port", "Cổng trong địa chỉ không hợp lệ") from None
        if not host:
            raise Refused("host", "Địa chỉ thiếu tên máy chủ")
        try:
            literal: Address | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            self.check(literal)
            return host, port, [literal]
        try:
            found = [ipaddress.ip_address(a) for a in self.resolver(host, port)]
        except (OSError, UnicodeError, ValueError):
            found = []
        if not found:
            raise Refused(
                "unresolvable",
                f"Không phân giải được tên miền {host}: không thể kiểm tra địa chỉ nhận",
            )
        for address in found:  # every one: a name must not smuggle one bad address among good
            self.check(address, host)
        internal_name = "." not in host or host == "localhost" or host.endswith(INTERNAL_SUFFIXES)
        if internal_name and not all(self.is_allowed(a) for a in found):
            raise Refused(
                "internal_name",
                f"Không được gửi tới tên máy trong mạng nội bộ của hệ thống: {host}",
            )
        return host, port, found

    def check_subscription(self, url: str) -> None:
        """At subscription: test-mode addresses never leave the platform; anything else is resolved."""
        if simulator.simulate("webhook", url) is not None:
            return
        self.resolve(url)
