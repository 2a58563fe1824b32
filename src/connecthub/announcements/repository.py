"""SQL of the announcements domain."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account
from connecthub.announcements.models import (
    Announcement,
    AnnouncementDismissal,
    AnnouncementReaction,
)
from connecthub.emojis.models import CustomEmoji
from connecthub.infra.db import insert_once

_ORDER = (func.coalesce(Announcement.starts_at, Announcement.published_at), Announcement.id)


async def published(
    session: AsyncSession, now: datetime, *, hide_dismissed_by: int | None
) -> Sequence[Announcement]:
    statement = (
        select(Announcement)
        .where(Announcement.published_at.is_not(None), Announcement.published_at <= now)
        .order_by(*_ORDER)
    )
    if hide_dismissed_by is not None:
        dismissed = select(AnnouncementDismissal.announcement_id).where(
            AnnouncementDismissal.account_id == hide_dismissed_by
        )
        statement = statement.where(Announcement.id.not_in(dismissed))
    return (await session.scalars(statement)).all()


async def every_announcement(session: AsyncSession) -> Sequence[Announcement]:
    return (await session.scalars(select(Announcement).order_by(*_ORDER))).all()


async def get(
    session: AsyncSession, announcement_id: int, *, for_update: bool = False
) -> Announcement | None:
    statement = select(Announcement).where(Announcement.id == announcement_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).first()


async def dismissed_among(
    session: AsyncSession, account_id: int, announcement_ids: Sequence[int]
) -> set[int]:
    if not announcement_ids:
        return set()
    rows = await session.scalars(
        select(AnnouncementDismissal.announcement_id).where(
            AnnouncementDismissal.account_id == account_id,
            AnnouncementDismissal.announcement_id.in_(announcement_ids),
        )
    )
    return set(rows)


async def dismiss(session: AsyncSession, account_id: int, announcement_id: int) -> None:
    await insert_once(
        session,
        AnnouncementDismissal,
        {"account_id": account_id, "announcement_id": announcement_id},
    )


class ReactionCount:
    def __init__(self, name: str, count: int, emoji: CustomEmoji | None) -> None:
        self.name, self.count, self.emoji = name, count, emoji
        self.me = False


async def reactions_of(
    session: AsyncSession, announcement_ids: Sequence[int], viewer_id: int | None
) -> dict[int, list[ReactionCount]]:
    """Each announcement's reactions, by name in the order first given, with counts, the
    custom emoji they name and whether the viewer gave them."""
    found: dict[int, list[ReactionCount]] = defaultdict(list)
    if not announcement_ids:
        return found
    rows = await session.execute(
        select(
            AnnouncementReaction.announcement_id,
            AnnouncementReaction.name,
            func.count(),
            func.min(AnnouncementReaction.id),
            CustomEmoji,
        )
        .outerjoin(CustomEmoji, CustomEmoji.id == AnnouncementReaction.custom_emoji_id)
        .where(AnnouncementReaction.announcement_id.in_(announcement_ids))
        .group_by(AnnouncementReaction.announcement_id, AnnouncementReaction.name, CustomEmoji.id)
        .order_by(AnnouncementReaction.announcement_id, func.min(AnnouncementReaction.id))
    )
    by_key: dict[tuple[int, str], ReactionCount] = {}
    for announcement_id, name, count, _first, emoji in rows.all():
        reaction = ReactionCount(name, count, emoji)
        found[announcement_id].append(reaction)
        by_key[announcement_id, name] = reaction
    if viewer_id is not None:
        mine = await session.execute(
            select(AnnouncementReaction.announcement_id, AnnouncementReaction.name).where(
                AnnouncementReaction.account_id == viewer_id,
                AnnouncementReaction.announcement_id.in_(announcement_ids),
            )
        )
        for announcement_id, name in mine.all():
            if (announcement_id, name) in by_key:
                by_key[announcement_id, name].me = True
    return found


async def reaction_names(session: AsyncSession, announcement_id: int) -> set[str]:
    rows = await session.scalars(
        select(AnnouncementReaction.name)
        .where(AnnouncementReaction.announcement_id == announcement_id)
        .distinct()
    )
    return set(rows)


async def add_reaction(
    session: AsyncSession,
    announcement_id: int,
    account_id: int,
    name: str,
    custom_emoji_id: int | None,
) -> bool:
    return await insert_once(
        session,
        AnnouncementReaction,
        {
            "announcement_id": announcement_id,
            "account_id": account_id,
            "name": name,
            "custom_emoji_id": custom_emoji_id,
        },
    )


async def remove_reaction(
    session: AsyncSession, announcement_id: int, account_id: int, name: str
) -> bool:
    result = await session.execute(
        delete(AnnouncementReaction).where(
            AnnouncementReaction.announcement_id == announcement_id,
            AnnouncementReaction.account_id == account_id,
            AnnouncementReaction.name == name,
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def reaction_count(session: AsyncSession, announcement_id: int, name: str) -> int:
    count = await session.scalar(
        select(func.count()).where(
            AnnouncementReaction.announcement_id == announcement_id,
            AnnouncementReaction.name == name,
        )
    )
    return int(count or 0)


async def local_account_ids(session: AsyncSession, after: int, size: int) -> list[int]:
    """Live local accounts by id, `size` at a time: the audience of a broadcast."""
    rows = await session.scalars(
        select(Account.id)
        .where(Account.id > after, Account.suspended_at.is_(None))
        .order_by(Account.id)
        .limit(size)
    )
    return list(rows)
