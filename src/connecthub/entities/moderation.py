"""Mastodon's AccountWarning (a strike) with its Appeal, and ConnectHub's view of an appeal
for moderators (Mastodon has no admin API for appeals; this is one in its style)."""

from __future__ import annotations

from typing_extensions import TypedDict

from connecthub.entities.accounts import Account


class Appeal(TypedDict):
    text: str
    state: str


class AccountWarning(TypedDict):
    id: str
    action: str
    text: str
    status_ids: list[str] | None
    target_account: Account
    appeal: Appeal | None
    created_at: str


class AdminAppeal(TypedDict):
    """ConnectHub extension: an appeal as moderators see it."""

    id: str
    account: Account
    strike: AccountWarning
    text: str
    state: str
    created_at: str
    approved_at: str | None
    rejected_at: str | None
