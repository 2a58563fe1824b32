"""What a push message is, and where one may be sent: the rules the subscription endpoints
and the sending (push/sending.py: encrypt, sign, POST) share.

The endpoint is a URL a client chose, so the server must not become its way into the
private network: endpoints are https, and every connection's addresses (after DNS, so a
name that resolves to 10.0.0.1 or 169.254.169.254 is refused as the literal would be) must
be public. `PUSH_ENDPOINT_TEST_HOSTS` names hosts exempt from both (tests, development).
Redirects are not followed: a push service answers, it does not redirect.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from connecthub.infra.public_fetch import refusal


class EndpointRefused(Exception):
    """The endpoint is not one the server may call (scheme, or a non-public address)."""


def is_public(address: str) -> bool:
    """The one rule for addresses the server may call on a user's behalf
    (infra/public_fetch.refusal: private, loopback, metadata and their IPv6 forms)."""
    return refusal(ipaddress.ip_address(address)) is None


def check_endpoint(url: str, test_hosts: frozenset[str]) -> None:
    """What can be told without DNS: https, a host, and no private address literal."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or parts.username is not None or parts.password is not None:
        raise EndpointRefused("must be an https URL with a host")
    if host in test_hosts:
        if parts.scheme not in ("https", "http"):
            raise EndpointRefused("must be an http(s) URL")
        return
    if parts.scheme != "https":
        raise EndpointRefused("must be an https URL")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return
    if not is_public(str(literal)):
        raise EndpointRefused("must not be a private address")


@dataclass(frozen=True)
class Message:
    endpoint: str
    key_p256dh: str
    key_auth: str
    standard: bool
    payload: bytes
