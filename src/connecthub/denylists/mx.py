"""The mail exchangers of an e-mail domain, for EMAIL_DOMAIN_MX_CHECK (off by default: it
needs DNS). A lookup that fails or times out finds none: the sign-up is not held up by DNS.
Tests and deployments without DNS set another resolver (`use`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import dns.asyncresolver
import dns.exception

Resolver = Callable[[str], Awaitable[list[str]]]

_TIMEOUT_SECONDS = 3.0


async def _dns_exchangers(domain: str) -> list[str]:
    try:
        answer = await dns.asyncresolver.resolve(domain, "MX", lifetime=_TIMEOUT_SECONDS)
    except (dns.exception.DNSException, OSError):
        return []
    return [str(record.exchange).rstrip(".").lower() for record in answer]


_resolver: Resolver = _dns_exchangers


def use(resolver: Resolver | None) -> None:
    """Replace the resolver (None: back to DNS)."""
    global _resolver
    _resolver = resolver or _dns_exchangers


async def exchangers(domain: str) -> list[str]:
    return [host for host in await _resolver(domain) if host]
