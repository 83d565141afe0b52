"""Refuse to connect to addresses inside our own network on a tenant's behalf.

A mailbox's host is user input. Without this guard a connection test could be
pointed at the cluster's own services or a cloud metadata endpoint. Operators
who run Mailroom against mail servers on a private network turn the guard off
with one setting (`allow_private`).
"""

from __future__ import annotations

import ipaddress
import socket

from mailroom.shared.errors import PermanentError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services that are not already link-local (169.254.169.254 is).
_METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    }
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class TargetNotAllowed(PermanentError):
    """The host resolves to an address Mailroom may not connect to on a tenant's behalf."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        super().__init__(
            f"{host} resolves to {address}, a {reason} address; Mailroom connects only to "
            "public mail servers unless private targets are allowed"
        )
        self.host = host
        self.address = address
        self.reason = reason


def address_kind(address: str) -> str | None:
    """Why this IP address is not public ("loopback", "private", ...), or None when it is."""
    ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA_ADDRESSES:
        return "cloud metadata"
    if ip.is_loopback:
        return "loopback"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "carrier-grade NAT"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


def check_addresses(host: str, addresses: list[str], allow_private: bool) -> None:
    """Raise TargetNotAllowed unless every resolved address is public (or private is allowed)."""
    if allow_private:
        return
    for address in addresses:
        kind = address_kind(address)
        if kind is not None:
            raise TargetNotAllowed(host, address, kind)


def check_target(host: str, allow_private: bool) -> None:
    """Resolve `host` and raise TargetNotAllowed if any of its addresses is not public.

    Blocking (it uses the system resolver); async code resolves with
    `loop.getaddrinfo` and calls `check_addresses` on the result instead.
    """
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise PermanentError(f"{host} could not be resolved") from exc
    check_addresses(host, sorted({str(info[4][0]) for info in infos}), allow_private)
