"""All SQL of the media domain."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.emojis.models import CustomEmoji
from connecthub.ids import new_id
from connecthub.media.models import MediaAttachment, MediaHold, MediaPurge, MediaState


async def by_id(session: AsyncSession, media_id: int) -> MediaAttachment | None:
    return await session.get(MediaAttachment, media_id)


async def owned(
    session: AsyncSession, account_id: int, media_id: int, *, for_update: bool = False
) -> MediaAttachment | None:
    query = select(MediaAttachment).where(
        MediaAttachment.id == media_id, MediaAttachment.account_id == account_id
    )
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def owned_many(
    session: AsyncSession, account_id: int, media_ids: Sequence[int]
) -> dict[int, MediaAttachment]:
    if not media_ids:
        return {}
    query = select(MediaAttachment).where(
        MediaAttachment.id.in_(set(media_ids)), MediaAttachment.account_id == account_id
    )
    return {row.id: row for row in await session.scalars(query)}


async def stored_bytes(session: AsyncSession, account_id: int) -> int:
    query = select(func.coalesce(func.sum(MediaAttachment.stored_bytes), 0)).where(
        MediaAttachment.account_id == account_id
    )
    return int((await session.execute(query)).scalar_one())


async def of_status(session: AsyncSession, status_id: int) -> list[MediaAttachment]:
    query = (
        select(MediaAttachment)
        .where(MediaAttachment.status_id == status_id)
        .order_by(MediaAttachment.position, MediaAttachment.id)
    )
    return list(await session.scalars(query))


async def of_statuses(
    session: AsyncSession, status_ids: Iterable[int]
) -> dict[int, list[MediaAttachment]]:
    ids = set(status_ids)
    found: dict[int, list[MediaAttachment]] = defaultdict(list)
    if not ids:
        return found
    query = (
        select(MediaAttachment)
        .where(MediaAttachment.status_id.in_(ids))
        .order_by(MediaAttachment.position, MediaAttachment.id)
    )
    for row in await session.scalars(query):
        if row.status_id is not None:
            found[row.status_id].append(row)
    return found


async def of_account(session: AsyncSession, account_id: int) -> list[MediaAttachment]:
    query = select(MediaAttachment).where(MediaAttachment.account_id == account_id)
    return list(await session.scalars(query))


async def held_by(
    session: AsyncSession, scheduled_status_ids: Iterable[int]
) -> list[MediaAttachment]:
    """The media these scheduled statuses hold, in their order."""
    ids = set(scheduled_status_ids)
    if not ids:
        return []
    query = (
        select(MediaAttachment)
        .where(MediaAttachment.scheduled_status_id.in_(ids))
        .order_by(MediaAttachment.position, MediaAttachment.id)
    )
    return list(await session.scalars(query))


def _unattached() -> ColumnElement[bool]:
    """On no status and held by no scheduled status."""
    return and_(MediaAttachment.status_id.is_(None), MediaAttachment.scheduled_status_id.is_(None))


async def unattached_before(
    session: AsyncSession, cutoff: datetime, limit: int
) -> list[MediaAttachment]:
    query = (
        select(MediaAttachment)
        .where(_unattached(), MediaAttachment.created_at < cutoff)
        .order_by(MediaAttachment.created_at)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def delete_rows(session: AsyncSession, media_ids: Iterable[int]) -> None:
    ids = list(media_ids)
    if ids:
        await session.execute(delete(MediaAttachment).where(MediaAttachment.id.in_(ids)))


async def keys_in_use(session: AsyncSession, keys: Iterable[str]) -> set[str]:
    """Which of `keys` a row still names (content-addressed keys may be shared)."""
    wanted = set(keys)
    if not wanted:
        return set()
    columns = (
        MediaAttachment.file_key,
        MediaAttachment.small_key,
        MediaAttachment.webp_key,
        MediaAttachment.thumbnail_key,
    )
    used: set[str] = set()
    for column in columns:
        used.update(
            value
            for value in await session.scalars(select(column).where(column.in_(wanted)))
            if value
        )
    profile = select(Account.avatar_key, Account.header_key).where(
        or_(Account.avatar_key.in_(wanted), Account.header_key.in_(wanted))
    )
    for avatar, header in (await session.execute(profile)).all():
        used.update(key for key in (avatar, header) if key in wanted)
    emojis = select(CustomEmoji.image_key, CustomEmoji.static_key).where(
        or_(CustomEmoji.image_key.in_(wanted), CustomEmoji.static_key.in_(wanted))
    )
    for image, static in (await session.execute(emojis)).all():
        used.update(key for key in (image, static) if key in wanted)
    used.update(await session.scalars(select(MediaHold.key).where(MediaHold.key.in_(wanted))))
    return used


async def add_holds(session: AsyncSession, holder: str, keys: Iterable[str]) -> None:
    rows = [
        {"id": new_id(), "key": key, "holder": holder, "created_at": utcnow()}
        for key in dict.fromkeys(keys)
    ]
    if rows:
        await session.execute(insert(MediaHold), rows)


async def drop_holds(session: AsyncSession, holder: str) -> list[str]:
    """Drops every hold of `holder`; returns the keys it held."""
    statement = delete(MediaHold).where(MediaHold.holder == holder).returning(MediaHold.key)
    return list((await session.execute(statement)).scalars())


# --- pending purges (media_purges) and the sweeper's questions ------------------------------


async def add_purges(session: AsyncSession, keys: Iterable[str]) -> None:
    """Record, in the caller's transaction, that these stored objects are to be purged."""
    rows = [{"id": new_id(), "key": key, "created_at": utcnow()} for key in dict.fromkeys(keys)]
    if rows:
        await session.execute(insert(MediaPurge), rows)


async def purge_ids(session: AsyncSession, keys: Iterable[str]) -> list[int]:
    wanted = set(keys)
    if not wanted:
        return []
    return list(await session.scalars(select(MediaPurge.id).where(MediaPurge.key.in_(wanted))))


async def forget_purges(session: AsyncSession, purge_ids: Sequence[int]) -> None:
    if purge_ids:
        await session.execute(delete(MediaPurge).where(MediaPurge.id.in_(purge_ids)))


async def purges_before(
    session: AsyncSession, cutoff: datetime, limit: int
) -> list[tuple[int, str]]:
    """Purges recorded before `cutoff` and not done yet (id, key), oldest first."""
    query = (
        select(MediaPurge.id, MediaPurge.key)
        .where(MediaPurge.created_at < cutoff)
        .order_by(MediaPurge.id)
        .limit(limit)
    )
    return [(row.id, row.key) for row in await session.execute(query)]


async def processing_before(session: AsyncSession, cutoff: datetime, limit: int) -> list[int]:
    """Uploads still processing that were last changed before `cutoff`, oldest first."""
    query = (
        select(MediaAttachment.id)
        .where(
            MediaAttachment.state == int(MediaState.PROCESSING),
            MediaAttachment.updated_at < cutoff,
        )
        .order_by(MediaAttachment.updated_at)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def any_unattached_before(session: AsyncSession, cutoff: datetime) -> bool:
    query = select(MediaAttachment.id).where(_unattached(), MediaAttachment.created_at < cutoff)
    return (await session.execute(query.limit(1))).first() is not None
