"""The one converter from announcement rows to Mastodon's Announcement and its Reactions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from connecthub import entities
from connecthub.announcements.models import Announcement
from connecthub.announcements.repository import ReactionCount
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.core.html import text_to_html
from connecthub.emojis.serializers import emoji_entity, used


def reaction_entity(
    settings: Settings, reaction: ReactionCount, *, signed_in: bool
) -> entities.AnnouncementReaction:
    entity: entities.AnnouncementReaction = {"name": reaction.name, "count": reaction.count}
    if signed_in:
        entity["me"] = reaction.me
    if reaction.emoji is not None:
        custom = emoji_entity(settings, reaction.emoji)
        entity["url"] = custom["url"]
        entity["static_url"] = custom["static_url"]
    return entity


def announcement_entity(
    settings: Settings,
    announcement: Announcement,
    reactions: Sequence[ReactionCount],
    emojis: Mapping[str, entities.CustomEmoji],
    *,
    read: bool | None = None,
) -> entities.Announcement:
    """`read` None: rendered for no one in particular (the admin API, streaming events),
    so no `read` and no reaction's `me`."""
    signed_in = read is not None
    entity: entities.Announcement = {
        "id": str(announcement.id),
        "content": text_to_html(announcement.text),
        "starts_at": iso(announcement.starts_at),
        "ends_at": iso(announcement.ends_at),
        "published": announcement.published_at is not None,
        "all_day": announcement.all_day,
        "published_at": iso(announcement.published_at),
        "updated_at": iso(announcement.updated_at),
        "mentions": [],
        "statuses": [],
        "tags": [],
        "emojis": used(emojis, announcement.text),
        "reactions": [reaction_entity(settings, r, signed_in=signed_in) for r in reactions],
    }
    if read is not None:
        entity["read"] = read
    return entity
