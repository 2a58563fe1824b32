"""Announcement and its Reaction."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict

from connecthub.entities.accounts import CustomEmoji
from connecthub.entities.statuses import Tag


class AnnouncementReaction(TypedDict):
    name: str
    count: int
    # Only for a signed-in reader.
    me: NotRequired[bool]
    # Only for a custom emoji.
    url: NotRequired[str]
    static_url: NotRequired[str]


class AnnouncementAccount(TypedDict):
    id: str
    username: str
    url: str
    acct: str


class AnnouncementStatus(TypedDict):
    id: str
    url: str


class Announcement(TypedDict):
    id: str
    content: str
    starts_at: str | None
    ends_at: str | None
    published: bool
    all_day: bool
    published_at: str | None
    updated_at: str
    # Only for a signed-in reader: whether they dismissed it.
    read: NotRequired[bool]
    mentions: list[AnnouncementAccount]
    statuses: list[AnnouncementStatus]
    tags: list[Tag]
    emojis: list[CustomEmoji]
    reactions: list[AnnouncementReaction]
