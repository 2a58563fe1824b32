"""The pure rules: a network's CIDR form, an e-mail's canonical form and its hash, which
domains an e-mail domain block covers, the severities."""

from __future__ import annotations

import hashlib
import ipaddress
from enum import StrEnum

from connecthub.errors import ValidationFailed


class Severity(StrEnum):
    """Mastodon's IP block severities, from the mildest."""

    SIGN_UP_REQUIRES_APPROVAL = "sign_up_requires_approval"
    SIGN_UP_BLOCK = "sign_up_block"
    NO_ACCESS = "no_access"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def network(value: str) -> Network:
    """`192.0.2.1`, `10.0.0.0/8`, `2001:db8::/32`: host bits set are refused, as an ambiguous
    range would be (422 naming `ip`)."""
    try:
        return ipaddress.ip_network(value.strip(), strict=True)
    except ValueError:
        raise ValidationFailed("ip", "is not an IP address or CIDR network") from None


def contains(cidr: str, address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
        net = ipaddress.ip_network(cidr)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:192.0.2.1 is 192.0.2.1
    return ip.version == net.version and ip in net


def canonical_email(email: str) -> str:
    """Mastodon's canonical form: lowercased; in the local part dots removed and anything
    from the first `+` dropped (`Jo.E+x@Mail.example` -> `joe@mail.example`)."""
    local, _, domain = email.strip().lower().partition("@")
    local = local.replace(".", "").split("+", 1)[0]
    return f"{local}@{domain}"


def canonical_email_hash(email: str) -> str:
    return hashlib.sha256(canonical_email(email).encode()).hexdigest()


def email_domain(value: str, field: str = "domain") -> str:
    """A domain as stored: lowercased IDNA, no trailing dot; 422 naming `field` otherwise."""
    domain = value.strip().lower().rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationFailed(field, "is not a valid domain") from None
    labels = domain.split(".")
    if not domain or len(domain) > 253 or any(not label or len(label) > 63 for label in labels):
        raise ValidationFailed(field, "is not a valid domain")
    if any(not all(c.isalnum() or c == "-" for c in label) for label in labels):
        raise ValidationFailed(field, "is not a valid domain")
    return domain


def covering_domains(domain: str) -> list[str]:
    """The domain and each parent: a block of `example.com` covers `mail.example.com`."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]
