"""Mastodon's empty answer, and ConnectHub's own entities (in Mastodon's JSON style)."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict


class Empty(TypedDict):
    """`{}`: what Mastodon answers when an action has nothing to show."""


class AccountDeletion(TypedDict):
    account_id: str
    requested_at: str | None
    completed_at: str | None
    state: str


class TwoFactorSetup(TypedDict):
    secret: str
    provisioning_uri: str
    qr_code: str


class TwoFactorStatus(TypedDict):
    enabled: bool
    # Given once, when two-factor sign-in is enabled.
    recovery_codes: NotRequired[list[str]]


class AdminCustomEmoji(TypedDict):
    """A custom emoji as the admin API shows it (ConnectHub's extension): Mastodon's
    CustomEmoji with its id and times."""

    id: str
    shortcode: str
    url: str
    static_url: str
    visible_in_picker: bool
    category: str | None
    created_at: str
    updated_at: str
