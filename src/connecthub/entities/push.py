"""Web Push: Mastodon's WebPushSubscription and the payload a push message carries."""

from __future__ import annotations

from typing_extensions import TypedDict

# Keys with a dot (`admin.sign_up`) need the functional form.
WebPushAlerts = TypedDict(
    "WebPushAlerts",
    {
        "mention": bool,
        "status": bool,
        "reblog": bool,
        "follow": bool,
        "follow_request": bool,
        "favourite": bool,
        "poll": bool,
        "update": bool,
        "admin.sign_up": bool,
        "admin.report": bool,
    },
)


class WebPushSubscription(TypedDict):
    id: str
    endpoint: str
    standard: bool
    alerts: WebPushAlerts
    server_key: str
    policy: str


class WebPushPayload(TypedDict):
    """What a push message decrypts to (Mastodon's web push notification JSON)."""

    access_token: str
    preferred_locale: str
    # A number, not a string as in the API: Mastodon sends it so, and apps decode an Int.
    notification_id: int
    notification_type: str
    icon: str
    title: str
    body: str
