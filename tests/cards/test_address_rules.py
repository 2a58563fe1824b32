"""The public-address rule of infra/public_fetch.py over the address classes (no network)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connecthub.infra.public_fetch import IPAddress, embedded_ipv4, refusal

REFUSED = {
    "0.0.0.0": "unspecified",  # noqa: S104 - an address refused, not bound
    "0.1.2.3": "unspecified",
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback",
    "10.0.0.1": "private",
    "10.255.255.255": "private",
    "172.16.0.1": "private",
    "172.31.255.255": "private",
    "192.168.1.1": "private",
    "100.64.0.1": "carrier-grade NAT",
    "100.100.100.200": "carrier-grade NAT",  # Alibaba Cloud metadata
    "169.254.169.254": "link-local",  # AWS / GCP / Azure / OpenStack metadata
    "169.254.0.1": "link-local",
    "168.63.129.16": "cloud metadata",  # Azure wire server
    "192.0.0.192": "reserved",  # Oracle Cloud metadata
    "192.0.2.10": "documentation",
    "198.51.100.7": "documentation",
    "203.0.113.9": "documentation",
    "198.18.0.1": "reserved",
    "192.88.99.1": "reserved",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "::": "unspecified",
    "::1": "loopback",
    "fe80::1": "link-local",
    "fc00::1": "private",
    "fd00:ec2::254": "private",  # AWS metadata over IPv6
    "fec0::1": "site-local",
    "ff02::1": "multicast",
    "2001:db8::1": "documentation",
    "3fff::1": "documentation",
    "100::1": "reserved",
    "2001::1": "Teredo",
    "2001:10::1": "reserved",
    "64:ff9b:1::1": "local NAT64",
    # IPv6 forms of refused IPv4 addresses: refused for what they carry.
    "::ffff:127.0.0.1": "loopback (in IPv6)",
    "::ffff:10.0.0.1": "private (in IPv6)",
    "::ffff:169.254.169.254": "link-local (in IPv6)",
    "::ffff:0.0.0.0": "unspecified (in IPv6)",
    "64:ff9b::127.0.0.1": "loopback (in IPv6)",  # NAT64
    "64:ff9b::a9fe:a9fe": "link-local (in IPv6)",  # NAT64 of 169.254.169.254
    "2002:7f00:1::": "loopback (in IPv6)",  # 6to4 of 127.0.0.1
    "2002:c0a8:101::1": "private (in IPv6)",  # 6to4 of 192.168.1.1
    "::127.0.0.1": "IPv4-compatible",
    "::8.8.8.8": "IPv4-compatible",  # deprecated form: refused whatever it carries
}

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "100.63.255.255",  # just below CGNAT
    "100.128.0.0",  # just above
    "172.32.0.1",  # just above 172.16/12
    "169.253.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001:82a::200e",
    "::ffff:8.8.8.8",  # mapped public address
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize(("address", "reason"), sorted(REFUSED.items()))
def test_refused_addresses(address: str, reason: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_scoped_ipv6_is_refused() -> None:
    assert refusal(ipaddress.IPv6Address("fe80::1%1")) == "scoped"


def test_embedded_ipv4_forms() -> None:
    def inner(text: str) -> str | None:
        found = embedded_ipv4(ipaddress.IPv6Address(text))
        return str(found) if found else None

    assert inner("::ffff:192.168.0.1") == "192.168.0.1"
    assert inner("64:ff9b::c0a8:1") == "192.168.0.1"
    assert inner("2002:c0a8:1::") == "192.168.0.1"
    assert inner("2606:4700::1") is None


@given(st.ip_addresses())
def test_an_allowed_address_is_global_and_unicast(address: IPAddress) -> None:
    """Whatever the rule's own lists miss, the standard library's `is_global` catches."""
    if refusal(address) is None:
        carried = embedded_ipv4(address) if address.version == 6 else None  # type: ignore[arg-type]
        plain = carried or address
        assert plain.is_global
        assert not plain.is_multicast
        assert not plain.is_loopback
        assert not plain.is_private
