"""The WebPushSubscription entity and the JSON a push message carries (what Mastodon apps
decrypt and show: a title, a short body, the sender's avatar, and the ids to fetch more)."""

from __future__ import annotations

from typing import cast

from connecthub import entities
from connecthub.accounts.models import Account
from connecthub.accounts.serializers import account_entity
from connecthub.config import Settings
from connecthub.push.models import WebPushSubscription
from connecthub.push.schemas import ALERT_TYPES

BODY_LENGTH = 140

_TITLES = {
    "mention": "{name} mentioned you",
    "status": "{name} just posted",
    "reblog": "{name} boosted your post",
    "follow": "{name} followed you",
    "follow_request": "{name} asked to follow you",
    "favourite": "{name} favourited your post",
    "poll": "A poll by {name} has ended",
    "update": "{name} edited a post",
    "admin.sign_up": "{name} signed up",
    "admin.report": "New report from {name}",
}


def subscription_entity(
    subscription: WebPushSubscription, server_key: str
) -> entities.WebPushSubscription:
    alerts = cast(
        entities.WebPushAlerts,
        {name: bool(subscription.alerts.get(name, False)) for name in ALERT_TYPES},
    )
    return {
        "id": str(subscription.id),
        "endpoint": subscription.endpoint,
        "standard": subscription.standard,
        "alerts": alerts,
        "server_key": server_key,
        "policy": subscription.policy,
    }


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= BODY_LENGTH else text[: BODY_LENGTH - 1].rstrip() + "…"


def payload(
    settings: Settings,
    *,
    access_token: str,
    locale: str | None,
    notification_id: int,
    notification_type: str,
    sender: Account,
    status_text: str | None,
) -> entities.WebPushPayload:
    """`status_text` is the status' content warning or else its text, when the
    notification is about one; otherwise the body is the sender's bio."""
    name = sender.display_name.strip() or sender.username
    title = _TITLES.get(notification_type, "{name}").format(name=name)
    return {
        "access_token": access_token,
        "preferred_locale": locale or "en",
        "notification_id": notification_id,
        "notification_type": notification_type,
        "icon": account_entity(settings, sender)["avatar_static"],
        "title": title,
        "body": _shorten(status_text if status_text is not None else sender.note),
    }
