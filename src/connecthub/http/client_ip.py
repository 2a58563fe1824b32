"""The client's address: the peer, or `X-Forwarded-For` when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ClientIpResolver:
    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self._trusted: list[IPNetwork] = [
            ipaddress.ip_network(item, strict=False) for item in trusted_proxies
        ]

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            # A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
            ip = ip.ipv4_mapped
        return any(ip in network for network in self._trusted)

    def resolve(self, peer: str | None, forwarded_for: str | None) -> str:
        """Walk `X-Forwarded-For` from the right past trusted proxies; the first untrusted
        hop is the client. A header from an untrusted peer is ignored entirely."""
        peer = peer or "0.0.0.0"  # noqa: S104 - a placeholder for "unknown", never bound
        if not forwarded_for or not self._is_trusted(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        client = peer
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                break
            client = hop
            if not self._is_trusted(hop):
                break
        return client
