"""Notification (and its groups), Relationship, FamiliarFollowers, Conversation, List,
Marker and Search results."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

from connecthub.entities.accounts import Account
from connecthub.entities.moderation import AccountWarning
from connecthub.entities.reports import Report
from connecthub.entities.statuses import Status, TagDetails


class Notification(TypedDict):
    id: str
    type: str
    created_at: str | None
    group_key: str
    account: Account
    # Only for the types a status caused (mention, status, reblog, favourite, poll, update).
    status: NotRequired[Status]
    # Only for `moderation_warning`: the strike.
    moderation_warning: NotRequired[AccountWarning]
    # Only for the report notices (admin.report, report_resolved).
    report: NotRequired[Report]


class NotificationGroup(TypedDict):
    group_key: str
    notifications_count: int
    type: str
    most_recent_notification_id: str
    # Only in a page of groups (GET /api/v2/notifications), not for one group by its key.
    page_min_id: NotRequired[str]
    page_max_id: NotRequired[str]
    latest_page_notification_at: NotRequired[str]
    sample_account_ids: list[str]
    # Only for the types a status caused, as the Notification's `status`.
    status_id: NotRequired[str | None]
    # Only for `moderation_warning`, as the Notification's.
    moderation_warning: NotRequired[AccountWarning]
    # Only for the report notices (admin.report, report_resolved), as the Notification's.
    report: NotRequired[Report]


class PartialAccountWithAvatar(TypedDict):
    id: str
    acct: str
    url: str
    avatar: str
    avatar_static: str
    locked: bool
    bot: bool


class GroupedNotificationsResults(TypedDict):
    accounts: list[Account]
    # Only with `expand_accounts=partial_avatars`.
    partial_accounts: NotRequired[list[PartialAccountWithAvatar]]
    statuses: list[Status]
    notification_groups: list[NotificationGroup]


class UnreadCount(TypedDict):
    count: int


class NotificationPolicySummary(TypedDict):
    pending_requests_count: int
    pending_notifications_count: int


class NotificationPolicy(TypedDict):
    """Mastodon 4.3's policy (`/api/v2/notifications/policy`): accept, filter or drop."""

    for_not_following: str
    for_not_followers: str
    for_new_accounts: str
    for_private_mentions: str
    for_limited_accounts: str
    summary: NotificationPolicySummary


class V1NotificationPolicy(TypedDict):
    """The same policy as the v1 route shows it: filter (or drop) is true, accept false."""

    filter_not_following: bool
    filter_not_followers: bool
    filter_new_accounts: bool
    filter_private_mentions: bool
    summary: NotificationPolicySummary


class NotificationRequest(TypedDict):
    id: str
    created_at: str | None
    updated_at: str | None
    account: Account
    notifications_count: str
    last_status: Status | None


class NotificationsMerged(TypedDict):
    merged: bool


class Relationship(TypedDict):
    id: str
    following: bool
    showing_reblogs: bool
    notifying: bool
    languages: list[str] | None
    followed_by: bool
    blocking: bool
    blocked_by: bool
    muting: bool
    muting_notifications: bool
    requested: bool
    requested_by: bool
    domain_blocking: bool
    endorsed: bool
    note: str


class FamiliarFollowers(TypedDict):
    id: str
    accounts: list[Account]


class Conversation(TypedDict):
    id: str
    unread: bool
    accounts: list[Account]
    last_status: Status | None


class List(TypedDict):
    id: str
    title: str
    replies_policy: str
    exclusive: bool


class Marker(TypedDict):
    last_read_id: str
    version: int
    updated_at: str | None


class Search(TypedDict):
    accounts: list[Account]
    statuses: list[Status]
    hashtags: list[TagDetails]
