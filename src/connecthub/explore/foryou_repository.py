"""Queries of the "For you" timeline: its candidates (every one through THE visibility rule,
`eligible`), what the ranker's features are made of (follows, engagements, counts), and the
fitted models."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from connecthub.accounts.models import Account
from connecthub.explore.models import RankerModel, TrendScore
from connecthub.relationships.models import Follow
from connecthub.statuses import access
from connecthub.statuses.models import Favourite, Status, StatusTag, TagFollow, Visibility


@dataclass(frozen=True)
class Post:
    """What the ranker reads of a post."""

    id: int
    account_id: int
    created_at: datetime
    text: str
    interactions: int  # favourites + boosts + replies, everyone's


@dataclass(frozen=True)
class Engagement:
    """An account favourited, boosted or replied to a post (by someone else)."""

    account_id: int
    status_id: int
    author_id: int
    at: datetime


_POST_COLUMNS = (
    Status.id,
    Status.account_id,
    Status.created_at,
    Status.text,
    Status.favourites_count + Status.reblogs_count + Status.replies_count,
)


def _post(row: Any) -> Post:
    return Post(int(row[0]), int(row[1]), row[2], row[3] or "", int(row[4] or 0))


def _follows_author(viewer_id: int) -> ColumnElement[bool]:
    return (
        select(Follow.id)
        .where(Follow.account_id == viewer_id, Follow.target_account_id == Status.account_id)
        .limit(1)
        .scalar_subquery()
        .is_not(None)
    )


def eligible(viewer_id: int, now: datetime) -> ColumnElement[bool]:
    """A post "For you" may show the viewer: one they may read (THE rule: audience, blocks
    either way, suspended authors), whose author they do not mute, not their own, not a
    boost, not a direct message; from someone they do not follow only when public (an
    unlisted post stays out of discovery, as Mastodon keeps it out of public timelines)."""
    return and_(
        access.readable_by(viewer_id),
        access.not_muted_by(viewer_id, Status.account_id, now),
        Status.account_id != viewer_id,
        Status.reblog_of_id.is_(None),
        Status.visibility != Visibility.DIRECT,
        or_(Status.visibility == Visibility.PUBLIC, _follows_author(viewer_id)),
    )


async def followed(session: AsyncSession, viewer_id: int) -> set[int]:
    rows = await session.scalars(
        select(Follow.target_account_id).where(Follow.account_id == viewer_id)
    )
    return {int(account_id) for account_id in rows}


async def _newest(
    session: AsyncSession,
    viewer_id: int,
    now: datetime,
    since_id: int,
    limit: int,
    *conditions: ColumnElement[bool],
    discoverable_only: bool = False,
) -> list[Post]:
    """The newest eligible posts since `since_id` that meet `conditions` (a source's own)."""
    query = select(*_POST_COLUMNS)
    if discoverable_only:
        query = query.join(Account, Account.id == Status.account_id).where(
            Account.discoverable.is_(True)
        )
    query = (
        query.where(*conditions, Status.id >= since_id, eligible(viewer_id, now))
        .order_by(Status.id.desc())
        .limit(limit)
    )
    return [_post(row) for row in (await session.execute(query)).all()]


async def from_followed(
    session: AsyncSession, viewer_id: int, now: datetime, since_id: int, limit: int
) -> list[Post]:
    """The newest eligible posts of accounts the viewer follows (replies left out)."""
    mine = select(Follow.target_account_id).where(Follow.account_id == viewer_id)
    return await _newest(
        session,
        viewer_id,
        now,
        since_id,
        limit,
        Status.account_id.in_(mine),
        Status.in_reply_to_id.is_(None),
    )


# Aliases made once, at import (a fresh one rebuilds its columns per statement); sharing
# them is safe for the reason statuses/access.py gives: each belongs to one function.
_FOF_MINE = aliased(Follow)
_FOF_THEIRS = aliased(Follow)


async def from_follows_of_follows(
    session: AsyncSession, viewer_id: int, now: datetime, since_id: int, limit: int
) -> list[Post]:
    """The newest eligible public posts of accounts the viewer's follows follow (and the
    viewer does not), by discoverable authors."""
    reached = (
        select(_FOF_THEIRS.target_account_id)
        .join(_FOF_MINE, _FOF_MINE.target_account_id == _FOF_THEIRS.account_id)
        .where(_FOF_MINE.account_id == viewer_id)
    )
    return await _newest(
        session,
        viewer_id,
        now,
        since_id,
        limit,
        Status.account_id.in_(reached),
        ~_follows_author(viewer_id),
        Status.in_reply_to_id.is_(None),
        Status.visibility == Visibility.PUBLIC,
        discoverable_only=True,
    )


async def from_followed_tags(
    session: AsyncSession, viewer_id: int, now: datetime, since_id: int, limit: int
) -> list[Post]:
    """The newest eligible public posts with a hashtag the viewer follows, by accounts the
    viewer does not follow (theirs come in as followed)."""
    tagged = (
        select(StatusTag.status_id)
        .join(TagFollow, TagFollow.tag_id == StatusTag.tag_id)
        .where(TagFollow.account_id == viewer_id)
    )
    return await _newest(
        session,
        viewer_id,
        now,
        since_id,
        limit,
        Status.id.in_(tagged),
        ~_follows_author(viewer_id),
        Status.visibility == Visibility.PUBLIC,
    )


async def recent_public(
    session: AsyncSession, viewer_id: int, now: datetime, since_id: int, limit: int
) -> list[Post]:
    """The newest eligible public posts of discoverable authors the viewer does not follow:
    the pool content similarity picks from."""
    return await _newest(
        session,
        viewer_id,
        now,
        since_id,
        limit,
        ~_follows_author(viewer_id),
        Status.in_reply_to_id.is_(None),
        Status.visibility == Visibility.PUBLIC,
        discoverable_only=True,
    )


async def eligible_posts(
    session: AsyncSession, viewer_id: int, now: datetime, ids: Sequence[int]
) -> list[Post]:
    """Those of `ids` that are eligible (trending posts, a stored ranking's page)."""
    if not ids:
        return []
    query = select(*_POST_COLUMNS).where(Status.id.in_(ids), eligible(viewer_id, now))
    return [_post(row) for row in (await session.execute(query)).all()]


async def eligible_statuses(
    session: AsyncSession, viewer_id: int, now: datetime, ids: Sequence[int]
) -> dict[int, Status]:
    """The eligible statuses among `ids` as rows to render, read again at serving time
    (a ranking kept for a while must not outlive a block or a mute)."""
    if not ids:
        return {}
    query = select(Status).where(Status.id.in_(ids), eligible(viewer_id, now))
    return {status.id: status for status in await session.scalars(query)}


async def posts(session: AsyncSession, ids: Sequence[int]) -> dict[int, Post]:
    """Any posts by id (training: what was engaged with)."""
    found: dict[int, Post] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = await session.execute(select(*_POST_COLUMNS).where(Status.id.in_(chunk)))
        found.update((post.id, post) for post in map(_post, rows.all()))
    return found


async def public_since(session: AsyncSession, since_id: int, limit: int) -> list[Post]:
    """The newest public, original posts that are not replies (training's negatives)."""
    query = (
        select(*_POST_COLUMNS)
        .where(
            Status.id >= since_id,
            Status.visibility == Visibility.PUBLIC,
            Status.reblog_of_id.is_(None),
            Status.in_reply_to_id.is_(None),
        )
        .order_by(Status.id.desc())
        .limit(limit)
    )
    return [_post(row) for row in (await session.execute(query)).all()]


async def follows_of(session: AsyncSession, account_ids: Sequence[int]) -> dict[int, set[int]]:
    """{account: the accounts it follows} for each of `account_ids`."""
    found: dict[int, set[int]] = defaultdict(set)
    ids = list(account_ids)
    for start in range(0, len(ids), 500):
        rows = await session.execute(
            select(Follow.account_id, Follow.target_account_id).where(
                Follow.account_id.in_(ids[start : start + 500])
            )
        )
        for follower, target in rows.all():
            found[int(follower)].add(int(target))
    return found


_FOF_COUNTS_MINE = aliased(Follow)
_FOF_COUNTS_THEIRS = aliased(Follow)


async def follows_of_follows_counts(
    session: AsyncSession, viewer_id: int, author_ids: Sequence[int]
) -> dict[int, int]:
    """{author: how many of the accounts the viewer follows follow them}."""
    if not author_ids:
        return {}
    query = (
        select(_FOF_COUNTS_THEIRS.target_account_id, func.count())
        .join(_FOF_COUNTS_MINE, _FOF_COUNTS_MINE.target_account_id == _FOF_COUNTS_THEIRS.account_id)
        .where(
            _FOF_COUNTS_MINE.account_id == viewer_id,
            _FOF_COUNTS_THEIRS.target_account_id.in_(author_ids),
        )
        .group_by(_FOF_COUNTS_THEIRS.target_account_id)
    )
    return {int(author): int(count) for author, count in (await session.execute(query)).all()}


_ENGAGEMENTS_ENGAGED = aliased(Status)
_ENGAGEMENTS_BOOST = aliased(Status)
_ENGAGEMENTS_REPLY = aliased(Status)


async def engagements(
    session: AsyncSession, since_id: int, account_id: int | None, limit: int
) -> list[Engagement]:
    """The newest favourites, boosts and replies since `since_id` (of one account, or of
    everyone), of posts by someone else, newest first."""
    favourites = select(
        Favourite.account_id.label("actor"),
        Favourite.status_id.label("status_id"),
        Favourite.created_at.label("at"),
        Favourite.id.label("key"),
    ).where(Favourite.id >= since_id)
    boosts = select(
        _ENGAGEMENTS_BOOST.account_id.label("actor"),
        _ENGAGEMENTS_BOOST.reblog_of_id.label("status_id"),
        _ENGAGEMENTS_BOOST.created_at.label("at"),
        _ENGAGEMENTS_BOOST.id.label("key"),
    ).where(_ENGAGEMENTS_BOOST.reblog_of_id.is_not(None), _ENGAGEMENTS_BOOST.id >= since_id)
    replies = select(
        _ENGAGEMENTS_REPLY.account_id.label("actor"),
        _ENGAGEMENTS_REPLY.in_reply_to_id.label("status_id"),
        _ENGAGEMENTS_REPLY.created_at.label("at"),
        _ENGAGEMENTS_REPLY.id.label("key"),
    ).where(_ENGAGEMENTS_REPLY.in_reply_to_id.is_not(None), _ENGAGEMENTS_REPLY.id >= since_id)
    if account_id is not None:
        favourites = favourites.where(Favourite.account_id == account_id)
        boosts = boosts.where(_ENGAGEMENTS_BOOST.account_id == account_id)
        replies = replies.where(_ENGAGEMENTS_REPLY.account_id == account_id)
    acts = union_all(favourites, boosts, replies).subquery()
    query = (
        select(acts.c.actor, acts.c.status_id, _ENGAGEMENTS_ENGAGED.account_id, acts.c.at)
        .join(_ENGAGEMENTS_ENGAGED, _ENGAGEMENTS_ENGAGED.id == acts.c.status_id)
        .where(_ENGAGEMENTS_ENGAGED.account_id != acts.c.actor)
        .order_by(acts.c.key.desc())
        .limit(limit)
    )
    return [
        Engagement(int(actor), int(status_id), int(author), at)
        for actor, status_id, author, at in (await session.execute(query)).all()
    ]


async def latest_model(session: AsyncSession) -> RankerModel | None:
    query = select(RankerModel).order_by(RankerModel.id.desc()).limit(1)
    return (await session.scalars(query)).first()


async def save_model(session: AsyncSession, row: RankerModel, keep: int) -> None:
    """Adds `row` and forgets all but the `keep` newest models."""
    session.add(row)
    await session.flush()
    kept = select(RankerModel.id).order_by(RankerModel.id.desc()).limit(keep).subquery()
    await session.execute(delete(RankerModel).where(RankerModel.id.not_in(select(kept.c.id))))


async def trend_scores(session: AsyncSession, status_ids: Sequence[int]) -> dict[int, float]:
    """{post: its trend score} for those of `status_ids` the trends job scored."""
    found: dict[int, float] = {}
    ids = list(status_ids)
    for start in range(0, len(ids), 500):
        rows = await session.execute(
            select(TrendScore.item_id, TrendScore.score).where(
                TrendScore.kind == "status", TrendScore.item_id.in_(ids[start : start + 500])
            )
        )
        found.update((int(item), float(score)) for item, score in rows.all())
    return found
