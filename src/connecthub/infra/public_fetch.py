"""THE rules for fetching a URL a user gave us (preview cards, their images): only public
addresses, on every hop, within a size and a time cap, of an expected content type.

A link in a post is a request the server makes on the poster's behalf. Without these rules
it reaches what only the server can: its own loopback services, the private network, the
cloud's metadata endpoint (credentials). So:

- the host is resolved here and EVERY address it resolves to must be public (`refusal`:
  loopback, private, link-local, CGNAT, multicast, reserved, unspecified, documentation,
  and the IPv6 forms that carry one of those: IPv4-mapped, IPv4-compatible, NAT64, 6to4,
  Teredo; the cloud metadata addresses); the connection then goes to the very address that
  was checked (the URL's host is replaced by it; `Host` and TLS SNI keep the name, and the
  certificate is verified against the name), so DNS cannot answer differently between the
  check and the connection (rebinding);
- redirects are followed here, hop by hop, each hop checked the same way, at most
  `MAX_REDIRECTS`;
- the body is streamed and the fetch stops as soon as it passes `max_bytes`;
- the whole fetch (every hop, every byte) is bounded by `timeout_seconds`;
- the response's content type must be one the caller expects (`text/html`, `image/…`).

`allowed_hosts` (the `PREVIEW_CARD_ALLOWED_HOSTS` setting; empty by default) names hosts,
as written in URLs, whose addresses skip the address rule: a test's server on loopback, an
intranet site an operator trusts. Every other host still meets every rule, on every hop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Final

import httpx

from connecthub.infra import tls

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_REDIRECTS: Final = 3
USER_AGENT: Final = "ConnectHub (preview cards; +https://github.com/connecthub) Bot"

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Checked in order; the first match names the reason. `is_global` is the catch-all after.
_REFUSED_V4: Final = (
    (_V4("0.0.0.0/8"), "unspecified"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("10.0.0.0/8"), "private"),
    (_V4("172.16.0.0/12"), "private"),
    (_V4("192.168.0.0/16"), "private"),
    (_V4("100.64.0.0/10"), "carrier-grade NAT"),  # also Alibaba's metadata, 100.100.100.200
    (_V4("169.254.0.0/16"), "link-local"),  # AWS, GCP, Azure, OpenStack metadata
    (_V4("168.63.129.16/32"), "cloud metadata"),  # Azure's wire server: a public address
    (_V4("192.0.0.0/24"), "reserved"),  # IETF assignments; Oracle's metadata 192.0.0.192
    (_V4("192.0.2.0/24"), "documentation"),
    (_V4("198.51.100.0/24"), "documentation"),
    (_V4("203.0.113.0/24"), "documentation"),
    (_V4("192.88.99.0/24"), "reserved"),  # 6to4 relay anycast
    (_V4("198.18.0.0/15"), "reserved"),  # benchmarking
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("240.0.0.0/4"), "reserved"),  # includes the broadcast address
)
_REFUSED_V6: Final = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("::/96"), "IPv4-compatible"),  # deprecated; never a legitimate destination
    (_V6("64:ff9b:1::/48"), "local NAT64"),
    (_V6("100::/64"), "reserved"),  # discard-only
    (_V6("2001::/32"), "Teredo"),  # a tunnel to an IPv4 address we cannot check
    (_V6("2001:10::/28"), "reserved"),  # ORCHID
    (_V6("2001:20::/28"), "reserved"),  # ORCHIDv2
    (_V6("2001:db8::/32"), "documentation"),
    (_V6("3fff::/20"), "documentation"),
    (_V6("fc00::/7"), "private"),  # unique local; AWS's IPv6 metadata fd00:ec2::254
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "site-local"),
    (_V6("ff00::/8"), "multicast"),
)
_NAT64: Final = _V6("64:ff9b::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for and routes to: IPv4-mapped
    (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def refusal(address: IPAddress) -> str | None:
    """Why a fetch may not connect to `address`, or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "scoped"
        inner = embedded_ipv4(address)
        if inner is not None:
            reason = refusal(inner)
            return f"{reason} (in IPv6)" if reason else None
        networks: tuple[tuple[_V4 | _V6, str], ...] = _REFUSED_V6
    else:
        networks = _REFUSED_V4
    for network, reason in networks:
        if address in network:
            return reason
    if not address.is_global:
        return "not global"
    return None


class FetchRefused(Exception):
    """The fetch was refused or failed; `reason` says why (logged, never shown to users)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int
    timeout_seconds: float
    # Accepted content types: a full type ("text/html") or a family ("image/").
    accept: tuple[str, ...]
    allowed_hosts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    content_type: str
    charset: str | None
    body: bytes


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (an address literal: itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchRefused(f"cannot resolve {host!r}: {exc}") from None
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if address not in found:
            found.append(address)
    if not found:
        raise FetchRefused(f"{host!r} has no address")
    return found


def ascii_host(url: httpx.URL) -> str:
    """The URL's host as resolved, sent and matched against `allowed_hosts` (IDNA)."""
    return url.raw_host.decode("ascii").lower()


async def checked_address(url: httpx.URL, policy: FetchPolicy) -> IPAddress:
    """The address to connect to for `url`: every address its host has must pass `refusal`
    (unless the host is allowed by name); the first one is used."""
    if url.scheme not in ("http", "https"):
        raise FetchRefused(f"scheme {url.scheme!r} is not http or https")
    host = ascii_host(url)
    if not host:
        raise FetchRefused("no host")
    port = url.port or (443 if url.scheme == "https" else 80)
    addresses = await resolve(host, port)
    if host not in policy.allowed_hosts:
        for address in addresses:
            reason = refusal(address)
            if reason is not None:
                raise FetchRefused(f"{host} resolves to {address}: {reason}")
    return addresses[0]


def _accepted(content_type: str, accept: tuple[str, ...]) -> bool:
    return any(
        content_type.startswith(kind) if kind.endswith("/") else content_type == kind
        for kind in accept
    )


async def _one_hop(
    client: httpx.AsyncClient, url: httpx.URL, policy: FetchPolicy
) -> Fetched | httpx.URL:
    """One request to the checked address of `url`: the body, or where it redirects."""
    address = await checked_address(url, policy)
    request = client.build_request(
        "GET",
        url.copy_with(host=str(address)),
        headers={"Host": url.netloc.decode("ascii")},
        extensions={"sni_hostname": ascii_host(url)} if url.scheme == "https" else {},
    )
    response = await client.send(request, stream=True)
    try:
        if response.is_redirect:
            location = response.headers.get("location", "")
            if not location:
                raise FetchRefused(f"redirect without a location ({response.status_code})")
            return url.join(location)
        if response.status_code != 200:
            raise FetchRefused(f"answered {response.status_code}")
        content_type = response.headers.get("content-type", "")
        media_type = content_type.split(";")[0].strip().lower()
        if not _accepted(media_type, policy.accept):
            raise FetchRefused(f"content type {media_type or 'none'!r} is not expected")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > policy.max_bytes:
            raise FetchRefused(f"declares {declared} bytes (the cap is {policy.max_bytes})")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > policy.max_bytes:
                raise FetchRefused(f"body over {policy.max_bytes} bytes")
            chunks.append(chunk)
        return Fetched(str(url), media_type, response.charset_encoding, b"".join(chunks))
    finally:
        await response.aclose()


async def fetch(url: str, policy: FetchPolicy) -> Fetched:
    """GET `url` under the rules above; raises FetchRefused, never anything else."""
    try:
        current = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchRefused(f"invalid URL: {exc}") from None
    headers = {"User-Agent": USER_AGENT, "Accept": ", ".join(policy.accept)}
    try:
        async with asyncio.timeout(policy.timeout_seconds):
            # No proxy or netrc from the environment, no redirects but ours; the one time cap
            # is the deadline around every hop (httpx's per-read timeouts would let a slow
            # body drip for ever), httpx's own only bounds a hop by the same amount.
            timeout = httpx.Timeout(policy.timeout_seconds)
            async with httpx.AsyncClient(
                headers=headers,
                follow_redirects=False,
                trust_env=False,
                timeout=timeout,
                verify=tls.client_context(trust_env=False),
            ) as client:
                for _hop in range(MAX_REDIRECTS + 1):
                    outcome = await _one_hop(client, current, policy)
                    if isinstance(outcome, Fetched):
                        return outcome
                    current = outcome
    except TimeoutError:
        raise FetchRefused(f"took over {policy.timeout_seconds} s") from None
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
        raise FetchRefused(f"{type(exc).__name__}: {exc}") from None
    raise FetchRefused(f"over {MAX_REDIRECTS} redirects")
