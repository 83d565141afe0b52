"""The SSRF guard refuses every address that is not on the public internet."""

from __future__ import annotations

import pytest

from mailroom.shared.mailconn.ssrf import (
    TargetNotAllowed,
    address_kind,
    check_addresses,
    check_target,
)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("169.254.10.10", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
    ],
)
def test_non_public_addresses_are_classified(address: str, kind: str) -> None:
    assert address_kind(address) == kind


@pytest.mark.parametrize("address", ["8.8.8.8", "142.250.1.108", "2607:f8b0:4004:c07::6c"])
def test_public_addresses_pass(address: str) -> None:
    assert address_kind(address) is None


def test_one_private_address_among_public_ones_is_refused() -> None:
    with pytest.raises(TargetNotAllowed) as caught:
        check_addresses("mail.example.com", ["8.8.8.8", "10.0.0.5"], allow_private=False)
    assert caught.value.reason == "private"
    assert "10.0.0.5" in str(caught.value)


def test_allow_private_turns_the_guard_off() -> None:
    check_addresses("localhost", ["127.0.0.1", "169.254.169.254"], allow_private=True)
    check_target("127.0.0.1", allow_private=True)


def test_check_target_resolves_literal_addresses() -> None:
    with pytest.raises(TargetNotAllowed):
        check_target("169.254.169.254", allow_private=False)
    with pytest.raises(TargetNotAllowed):
        check_target("::1", allow_private=False)
