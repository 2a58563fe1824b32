"""The parameters of `/api/v1/push/subscription`, as Mastodon reads them (form or JSON):
`subscription[endpoint]`, `subscription[keys][p256dh|auth]`, `subscription[standard]`,
`data[alerts][<type>]`, `data[policy]`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from connecthub.core.params import boolean, text
from connecthub.errors import ValidationFailed
from connecthub.push import keys

ALERT_TYPES = (
    "mention",
    "status",
    "reblog",
    "follow",
    "follow_request",
    "favourite",
    "poll",
    "update",
    "admin.sign_up",
    "admin.report",
)
POLICIES = ("all", "followed", "follower", "none")
MAX_ENDPOINT_LENGTH = 2048

T = TypeVar("T")


@dataclass(frozen=True)
class Data:
    """What to push: the alert types switched on (an absent one is off) and whose."""

    alerts: dict[str, bool] = field(default_factory=dict)
    policy: str = "all"


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    key_p256dh: str
    key_auth: str
    standard: bool


def _named(path: str, read: Callable[[], T]) -> T:
    """`read()`, its refusal naming the parameter by its full path."""
    try:
        return read()
    except ValidationFailed as error:
        raise ValidationFailed(path, error.problem) from None


def _object(params: dict[str, Any], name: str) -> dict[str, Any]:
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(name, "must be an object")
    return value


def data(params: dict[str, Any]) -> Data:
    """`data` replaces what a subscription pushes (Mastodon's update does the same). A
    top-level `policy` is read when `data[policy]` is absent: Mastodon.py sends it there."""
    given = _object(params, "data")
    raw_alerts = _object(given, "alerts")
    alerts: dict[str, bool] = {}
    for name in ALERT_TYPES:
        value = _named(f"data[alerts][{name}]", lambda: boolean(raw_alerts, name))  # noqa: B023
        if value is not None:
            alerts[name] = value
    policy = (
        _named("data[policy]", lambda: text(given, "policy"))
        or _named("policy", lambda: text(params, "policy"))
        or "all"
    )
    if policy not in POLICIES:
        raise ValidationFailed("data[policy]", f"must be one of {', '.join(POLICIES)}")
    return Data(alerts=alerts, policy=policy)


def subscription(params: dict[str, Any]) -> Subscription:
    given = _object(params, "subscription")
    endpoint = _named("subscription[endpoint]", lambda: text(given, "endpoint"))
    if not endpoint:
        raise ValidationFailed("subscription[endpoint]", "is required")
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise ValidationFailed("subscription[endpoint]", "is too long")
    given_keys = _object(given, "keys")
    p256dh_text = _named("subscription[keys][p256dh]", lambda: text(given_keys, "p256dh"))
    p256dh = keys.subscriber_key(p256dh_text)
    if p256dh is None:
        raise ValidationFailed("subscription[keys][p256dh]", "must be a P-256 public key")
    auth_text = _named("subscription[keys][auth]", lambda: text(given_keys, "auth"))
    auth = keys.subscriber_secret(auth_text)
    if auth is None:
        raise ValidationFailed("subscription[keys][auth]", "must be 16 bytes, base64")
    standard = _named("subscription[standard]", lambda: boolean(given, "standard"))
    return Subscription(endpoint, p256dh, auth, bool(standard))
