"""All SQL of timelines. Every query filters statuses with `statuses.access`, in the query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from connecthub.clock import utcnow
from connecthub.http.pagination import Page
from connecthub.relationships.models import Block, Follow, Mute
from connecthub.statuses.access import not_muted_by, readable_with_boosted
from connecthub.statuses.models import Status, StatusTag, Tag, Visibility
from connecthub.timelines.models import Marker


async def _page(session: AsyncSession, query: Any, page: Page) -> list[Status]:
    rows = list((await session.execute(page.apply(query, Status.id))).scalars())
    return page.newest_first(rows)


def _boosted_author_not_muted(viewer_id: int) -> Any:
    boosted = aliased(Status)
    return or_(
        Status.reblog_of_id.is_(None),
        exists().where(
            boosted.id == Status.reblog_of_id, not_muted_by(viewer_id, boosted.account_id)
        ),
    )


async def home(session: AsyncSession, viewer_id: int, page: Page) -> list[Status]:
    """Own posts and followed accounts' posts and boosts (boosts only where the follow shows
    them), minus muted accounts; direct messages live in conversations, not here."""
    followed = select(Follow.target_account_id).where(Follow.account_id == viewer_id)
    boosts_shown = select(Follow.target_account_id).where(
        Follow.account_id == viewer_id, Follow.show_reblogs.is_(True)
    )
    query = select(Status).where(
        or_(
            Status.account_id == viewer_id,
            and_(Status.account_id.in_(followed), Status.reblog_of_id.is_(None)),
            and_(Status.account_id.in_(boosts_shown), Status.reblog_of_id.is_not(None)),
        ),
        Status.visibility != Visibility.DIRECT,
        readable_with_boosted(viewer_id),
        not_muted_by(viewer_id, Status.account_id),
        _boosted_author_not_muted(viewer_id),
    )
    return await _page(session, query, page)


def _public_filters(viewer_id: int | None, only_media: bool) -> list[Any]:
    filters: list[Any] = [
        Status.visibility == Visibility.PUBLIC,
        Status.reblog_of_id.is_(None),
        readable_with_boosted(viewer_id),
    ]
    if viewer_id is not None:
        filters.append(not_muted_by(viewer_id, Status.account_id))
    if only_media:
        filters.append(Status.has_media.is_(True))
    return filters


async def public(
    session: AsyncSession, viewer_id: int | None, page: Page, *, only_media: bool
) -> list[Status]:
    query = select(Status).where(*_public_filters(viewer_id, only_media))
    return await _page(session, query, page)


def _tagged(names: Sequence[str]) -> Any:
    return exists().where(
        StatusTag.status_id == Status.id,
        StatusTag.tag_id == Tag.id,
        Tag.name_key.in_([name.lower() for name in names]),
    )


async def hashtag(
    session: AsyncSession,
    viewer_id: int | None,
    page: Page,
    *,
    any_of: Sequence[str],
    all_of: Sequence[str],
    none_of: Sequence[str],
    only_media: bool,
) -> list[Status]:
    filters = [*_public_filters(viewer_id, only_media), _tagged(any_of)]
    filters += [_tagged([name]) for name in all_of]
    if none_of:
        filters.append(~_tagged(none_of))
    query = select(Status).where(*filters)
    return await _page(session, query, page)


async def audience(session: AsyncSession, status: Status) -> list[int]:
    """Who gets a new status in their home timeline: the author and followers (for a boost,
    followers who show boosts), minus those who mute the author or share a block with them."""
    follower = Follow.account_id
    author = status.account_id
    live_mute = exists().where(
        Mute.account_id == follower,
        Mute.target_account_id == author,
        or_(Mute.expires_at.is_(None), Mute.expires_at > utcnow()),
    )
    block = exists().where(
        or_(
            and_(Block.account_id == follower, Block.target_account_id == author),
            and_(Block.account_id == author, Block.target_account_id == follower),
        )
    )
    query = select(follower).where(Follow.target_account_id == author, ~live_mute, ~block)
    if status.reblog_of_id is not None:
        query = query.where(Follow.show_reblogs.is_(True))
    return [author, *(await session.execute(query)).scalars()]


async def followers_of(session: AsyncSession, account_id: int) -> list[int]:
    query = select(Follow.account_id).where(Follow.target_account_id == account_id)
    return list((await session.execute(query)).scalars())


async def markers(session: AsyncSession, account_id: int, timelines: Sequence[str]) -> list[Marker]:
    query = select(Marker).where(Marker.account_id == account_id, Marker.timeline.in_(timelines))
    return list((await session.execute(query)).scalars())
