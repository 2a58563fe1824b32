"""Queries of the "For you" timeline: its candidates (every one through THE visibility rule,
`eligible`), what the ranker's features are made of (follows, engagements, counts), and the
fitted models.

The statements a page runs are built once, at import (or once per dialect where a list of
ids is bound), with the viewer, the moment, the cursor and the limit bound at execution:
building the visibility rule and its cache key anew for each of a page's five candidate
queries was most of the route's CPU (docs/benchmarks.md, "For you's statements built
once")."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from connecthub.accounts.models import Account
from connecthub.explore.models import RankerModel, TrendScore
from connecthub.infra.db import IdType, dialect_of, in_id_list
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


# What a page's statements are executed with.
_VIEWER = access.VIEWER
_NOW = access.NOW
_SINCE = bindparam("since_id", type_=IdType)
_LIMIT = bindparam("limit", type_=Integer)


def _follows_author(viewer_id: access.Viewer) -> ColumnElement[bool]:
    return (
        select(Follow.id)
        .where(Follow.account_id == viewer_id, Follow.target_account_id == Status.account_id)
        .limit(1)
        .scalar_subquery()
        .is_not(None)
    )


def eligible(viewer_id: access.Viewer, now: access.Moment) -> ColumnElement[bool]:
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


_FOLLOWED = select(Follow.target_account_id).where(Follow.account_id == _VIEWER)


async def followed(session: AsyncSession, viewer_id: int) -> set[int]:
    rows = await session.scalars(_FOLLOWED, {"viewer_id": viewer_id})
    return {int(account_id) for account_id in rows}


_PostRows = Select[int, int, datetime, str, int]


def _newest(*conditions: ColumnElement[bool], discoverable_only: bool = False) -> _PostRows:
    """The newest eligible posts since the cursor that meet `conditions` (a source's own)."""
    query = select(*_POST_COLUMNS)
    if discoverable_only:
        query = query.join(Account, Account.id == Status.account_id).where(
            Account.discoverable.is_(True)
        )
    return (
        query.where(*conditions, Status.id >= _SINCE, eligible(_VIEWER, _NOW))
        .order_by(Status.id.desc())
        .limit(_LIMIT)
    )


async def _run_newest(
    session: AsyncSession,
    statement: _PostRows,
    viewer_id: int,
    now: datetime,
    since_id: int,
    limit: int,
) -> list[Post]:
    values = {"viewer_id": viewer_id, "now": now, "since_id": since_id, "limit": limit}
    return [_post(row) for row in (await session.execute(statement, values)).all()]


# The newest eligible posts of accounts the viewer follows (replies left out).
_FROM_FOLLOWED = _newest(
    Status.account_id.in_(_FOLLOWED),
    Status.in_reply_to_id.is_(None),
)


async def from_followed(
    session: AsyncSession, viewer_id: int, now: datetime, since_id: int, limit: int
) -> list[Post]:
    return await _run_newest(session, _FROM_FOLLOWED, viewer_id, now, since_id, limit)


# Aliases made once, at import (a fresh one rebuilds its columns per statement); sharing
# them is safe for the reason statuses/access.py gives: each belongs to one statement.
_FOF_MINE = aliased(Follow)
_FOF_THEIRS = aliased(Follow)

# The newest eligible public posts of accounts the viewer's follows follow (and the viewer
# does not), by discoverable authors.
_FROM_FOLLOWS_OF_FOLLOWS = _newest(
    Status.account_id.in_(
        select(_FOF_THEIRS.target_account_id)
        .join(_FOF_MINE, _FOF_MINE.target_account_id == _FOF_THEIRS.account_id)
        .where(_FOF_MINE.account_id == _VIEWER)
    ),
    ~_follows_author(_VIEWER),
    Status.in_reply_to_id.is_(None),
    Status.visibility == Visibility.PUBLIC,
    discoverable_only=True,
)


async def from_follows_of_follows(
    session: AsyncSession, viewer_id: int, now: datetime, since_id: int, limit: int
) -> list[Post]:
    return await _run_newest(session, _FROM_FOLLOWS_OF_FOLLOWS, viewer_id, now, since_id, limit)


# The newest eligible public posts with a hashtag the viewer follows, by accounts the viewer
# does not follow (theirs come in as followed).
_FROM_FOLLOWED_TAGS = _newest(
    Status.id.in_(
        select(StatusTag.status_id)
        .join(TagFollow, TagFollow.tag_id == StatusTag.tag_id)
        .where(TagFollow.account_id == _VIEWER)
    ),
    ~_follows_author(_VIEWER),
    Status.visibility == Visibility.PUBLIC,
)


async def from_followed_tags(
    session: AsyncSession, viewer_id: int, now: datetime, since_id: int, limit: int
) -> list[Post]:
    return await _run_newest(session, _FROM_FOLLOWED_TAGS, viewer_id, now, since_id, limit)


# The newest eligible public posts of discoverable authors the viewer does not follow: the
# pool content similarity picks from.
_RECENT_PUBLIC = _newest(
    ~_follows_author(_VIEWER),
    Status.in_reply_to_id.is_(None),
    Status.visibility == Visibility.PUBLIC,
    discoverable_only=True,
)


async def recent_public(
    session: AsyncSession, viewer_id: int, now: datetime, since_id: int, limit: int
) -> list[Post]:
    return await _run_newest(session, _RECENT_PUBLIC, viewer_id, now, since_id, limit)


@functools.cache
def _eligible_among(dialect: str, rows: bool) -> Select[Any]:
    """Eligible posts among the ids bound as `ids` (`rows`: as rows to render)."""
    columns: Any = (Status,) if rows else _POST_COLUMNS
    return select(*columns).where(in_id_list(Status.id, "ids", dialect), eligible(_VIEWER, _NOW))


async def eligible_posts(
    session: AsyncSession, viewer_id: int, now: datetime, ids: Sequence[int]
) -> list[Post]:
    """Those of `ids` that are eligible (trending posts, a stored ranking's page)."""
    if not ids:
        return []
    query = _eligible_among(dialect_of(session), False)
    values = {"ids": list(ids), "viewer_id": viewer_id, "now": now}
    return [_post(row) for row in (await session.execute(query, values)).all()]


async def eligible_statuses(
    session: AsyncSession, viewer_id: int, now: datetime, ids: Sequence[int]
) -> dict[int, Status]:
    """The eligible statuses among `ids` as rows to render, read again at serving time
    (a ranking kept for a while must not outlive a block or a mute)."""
    if not ids:
        return {}
    query = _eligible_among(dialect_of(session), True)
    values = {"ids": list(ids), "viewer_id": viewer_id, "now": now}
    return {status.id: status for status in await session.scalars(query, values)}


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


@functools.cache
def _follows_of_follows_counts(dialect: str) -> Select[int, int]:
    return (
        select(_FOF_COUNTS_THEIRS.target_account_id, func.count())
        .join(_FOF_COUNTS_MINE, _FOF_COUNTS_MINE.target_account_id == _FOF_COUNTS_THEIRS.account_id)
        .where(
            _FOF_COUNTS_MINE.account_id == _VIEWER,
            in_id_list(_FOF_COUNTS_THEIRS.target_account_id, "authors", dialect),
        )
        .group_by(_FOF_COUNTS_THEIRS.target_account_id)
    )


async def follows_of_follows_counts(
    session: AsyncSession, viewer_id: int, author_ids: Sequence[int]
) -> dict[int, int]:
    """{author: how many of the accounts the viewer follows follow them}."""
    if not author_ids:
        return {}
    query = _follows_of_follows_counts(dialect_of(session))
    values = {"viewer_id": viewer_id, "authors": list(author_ids)}
    return {int(author): int(count) for author, count in (await session.execute(query, values))}


_ENGAGEMENTS_ENGAGED = aliased(Status)
_ENGAGEMENTS_BOOST = aliased(Status)
_ENGAGEMENTS_REPLY = aliased(Status)
_ACTOR = bindparam("actor", type_=IdType)


@functools.cache
def _engagements(of_one_account: bool) -> Select[Any]:
    favourites = select(
        Favourite.account_id.label("actor"),
        Favourite.status_id.label("status_id"),
        Favourite.created_at.label("at"),
        Favourite.id.label("key"),
    ).where(Favourite.id >= _SINCE)
    boosts = select(
        _ENGAGEMENTS_BOOST.account_id.label("actor"),
        _ENGAGEMENTS_BOOST.reblog_of_id.label("status_id"),
        _ENGAGEMENTS_BOOST.created_at.label("at"),
        _ENGAGEMENTS_BOOST.id.label("key"),
    ).where(_ENGAGEMENTS_BOOST.reblog_of_id.is_not(None), _ENGAGEMENTS_BOOST.id >= _SINCE)
    replies = select(
        _ENGAGEMENTS_REPLY.account_id.label("actor"),
        _ENGAGEMENTS_REPLY.in_reply_to_id.label("status_id"),
        _ENGAGEMENTS_REPLY.created_at.label("at"),
        _ENGAGEMENTS_REPLY.id.label("key"),
    ).where(_ENGAGEMENTS_REPLY.in_reply_to_id.is_not(None), _ENGAGEMENTS_REPLY.id >= _SINCE)
    if of_one_account:
        favourites = favourites.where(Favourite.account_id == _ACTOR)
        boosts = boosts.where(_ENGAGEMENTS_BOOST.account_id == _ACTOR)
        replies = replies.where(_ENGAGEMENTS_REPLY.account_id == _ACTOR)
    acts = union_all(favourites, boosts, replies).subquery()
    return (
        select(acts.c.actor, acts.c.status_id, _ENGAGEMENTS_ENGAGED.account_id, acts.c.at)
        .join(_ENGAGEMENTS_ENGAGED, _ENGAGEMENTS_ENGAGED.id == acts.c.status_id)
        .where(_ENGAGEMENTS_ENGAGED.account_id != acts.c.actor)
        .order_by(acts.c.key.desc())
        .limit(_LIMIT)
    )


async def engagements(
    session: AsyncSession, since_id: int, account_id: int | None, limit: int
) -> list[Engagement]:
    """The newest favourites, boosts and replies since `since_id` (of one account, or of
    everyone), of posts by someone else, newest first."""
    query = _engagements(account_id is not None)
    values = {"since_id": since_id, "limit": limit, "actor": account_id}
    return [
        Engagement(int(actor), int(status_id), int(author), at)
        for actor, status_id, author, at in (await session.execute(query, values)).all()
    ]


_LATEST_MODEL = select(RankerModel).order_by(RankerModel.id.desc()).limit(1)


async def latest_model(session: AsyncSession) -> RankerModel | None:
    return (await session.scalars(_LATEST_MODEL)).first()


async def save_model(session: AsyncSession, row: RankerModel, keep: int) -> None:
    """Adds `row` and forgets all but the `keep` newest models."""
    session.add(row)
    await session.flush()
    kept = select(RankerModel.id).order_by(RankerModel.id.desc()).limit(keep).subquery()
    await session.execute(delete(RankerModel).where(RankerModel.id.not_in(select(kept.c.id))))


@functools.cache
def _trend_scores(dialect: str) -> Select[int, float]:
    return select(TrendScore.item_id, TrendScore.score).where(
        TrendScore.kind == "status", in_id_list(TrendScore.item_id, "ids", dialect)
    )


async def trend_scores(session: AsyncSession, status_ids: Sequence[int]) -> dict[int, float]:
    """{post: its trend score} for those of `status_ids` the trends job scored."""
    found: dict[int, float] = {}
    ids = list(status_ids)
    query = _trend_scores(dialect_of(session))
    for start in range(0, len(ids), 500):
        rows = await session.execute(query, {"ids": ids[start : start + 500]})
        found.update((int(item), float(score)) for item, score in rows.all())
    return found
