"""Queries of the explore domain: the counts the trends job scores, the scores it keeps,
and the accounts the directory and suggestions list."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from connecthub.accounts.models import Account, User
from connecthub.cards.models import PreviewCard
from connecthub.explore.models import AccountVector, SuggestionDismissal, TrendReview, TrendScore
from connecthub.relationships.models import Follow, FollowRequest, Mute
from connecthub.statuses import access
from connecthub.statuses.models import Favourite, Status, StatusTag, Tag, Visibility

# --- what trends count ------------------------------------------------------------------


def _trend_worthy(author: Any = Account) -> Any:
    """A post that may make something trend: public, not a boost, by an active account,
    not silenced, that chose to be discoverable."""
    return and_(
        Status.visibility == Visibility.PUBLIC,
        Status.reblog_of_id.is_(None),
        author.id == Status.account_id,
        author.suspended_at.is_(None),
        author.silenced_at.is_(None),
        author.discoverable.is_(True),
    )


def _window(starts: Sequence[int]) -> Any:
    """Window `i` of `starts` (ids, newest first): the posts from `starts[i]` up to the
    newer window's start (ids are time-ordered, so a window is an id range)."""
    return case(*((Status.id >= start, index) for index, start in enumerate(starts))).label("w")


async def accounts_per_window(
    session: AsyncSession, kind: str, starts: Sequence[int]
) -> dict[tuple[int, int], int]:
    """{(item id, window): distinct accounts} of trend-worthy posts carrying each hashtag
    (`kind` tag) or linking each preview card (`kind` link)."""
    window = _window(starts)
    accounts = func.count(func.distinct(Status.account_id))
    if kind == "tag":
        item: Any = StatusTag.tag_id
        query = select(item, window, accounts).join(Status, Status.id == StatusTag.status_id)
    else:
        item = Status.preview_card_id
        query = select(item, window, accounts).where(item.is_not(None))
    query = query.where(Status.id >= starts[-1], exists().where(_trend_worthy()))
    rows = (await session.execute(query.group_by(item, window))).all()
    return {(int(item_id), int(index)): int(count) for item_id, index, count in rows}


# Aliases made once, at import (a fresh one rebuilds its columns per statement); sharing
# them is safe for the reason statuses/access.py gives: each belongs to one function.
_INTERACTIONS_BOOST = aliased(Status)


async def status_interactions(
    session: AsyncSession, since_id: int
) -> list[tuple[int, datetime, int]]:
    """(status id, created at, distinct accounts that favourited or boosted it, the author
    aside) for trend-worthy original posts since `since_id`, with no content warning and
    not marked sensitive, that are not replies."""
    actors = union_all(
        select(Favourite.status_id.label("status_id"), Favourite.account_id.label("actor")).where(
            Favourite.status_id >= since_id
        ),
        select(
            _INTERACTIONS_BOOST.reblog_of_id.label("status_id"),
            _INTERACTIONS_BOOST.account_id.label("actor"),
        ).where(_INTERACTIONS_BOOST.reblog_of_id >= since_id),
    ).subquery()
    query = (
        select(Status.id, Status.created_at, func.count(func.distinct(actors.c.actor)))
        .join(actors, actors.c.status_id == Status.id)
        .where(
            Status.id >= since_id,
            actors.c.actor != Status.account_id,
            Status.in_reply_to_id.is_(None),
            Status.sensitive.is_(False),
            Status.spoiler_text == "",
            exists().where(_trend_worthy()),
        )
        .group_by(Status.id, Status.created_at)
    )
    return [(int(a), b, int(c)) for a, b, c in (await session.execute(query)).all()]


async def card_uses(
    session: AsyncSession, card_ids: Sequence[int], day_starts: Sequence[int]
) -> dict[tuple[int, int], tuple[int, int]]:
    """{(card id, day index): (posts, distinct accounts)} of public posts linking each card,
    for a link's history (as a hashtag's)."""
    if not card_ids:
        return {}
    window = _window(day_starts)
    query = (
        select(
            Status.preview_card_id,
            window,
            func.count(),
            func.count(func.distinct(Status.account_id)),
        )
        .where(
            Status.preview_card_id.in_(card_ids),
            Status.id >= day_starts[-1],
            access.readable_by(None),
        )
        .group_by(Status.preview_card_id, window)
    )
    rows = (await session.execute(query)).all()
    return {(int(c), int(i)): (int(u), int(a)) for c, i, u, a in rows}


# --- the scores ---------------------------------------------------------------------------


async def scores(session: AsyncSession, kind: str) -> dict[int, TrendScore]:
    rows = await session.scalars(select(TrendScore).where(TrendScore.kind == kind))
    return {row.item_id: row for row in rows}


async def replace_scores(session: AsyncSession, kind: str, rows: Iterable[TrendScore]) -> None:
    await session.execute(delete(TrendScore).where(TrendScore.kind == kind))
    session.add_all(list(rows))


def _allowed(require_review: bool) -> Any:
    approved = TrendReview.approved.is_(True)
    return approved if require_review else or_(approved, TrendReview.approved.is_(None))


@functools.cache
def _trending(allowed_only: bool, require_review: bool) -> Select[int, float, bool]:
    """Built once per variant (the trends routes and every "For you" page run it), with the
    kind, offset and limit bound at execution."""
    query = (
        select(TrendScore.item_id, TrendScore.score, TrendReview.approved)
        .outerjoin(
            TrendReview,
            and_(TrendReview.kind == TrendScore.kind, TrendReview.item_id == TrendScore.item_id),
        )
        .where(TrendScore.kind == bindparam("kind"), TrendScore.score > 0)
    )
    if allowed_only:
        query = query.where(_allowed(require_review))
    return (
        query.order_by(TrendScore.score.desc(), TrendScore.item_id.desc())
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )


async def trending(
    session: AsyncSession,
    kind: str,
    *,
    allowed_only: bool,
    require_review: bool,
    offset: int,
    limit: int,
) -> list[tuple[int, float, bool | None]]:
    """(item id, score, review: approved / rejected / None) of trending items, highest
    first; `allowed_only`: those the public may see (approved, or not rejected when review
    is not required)."""
    query = _trending(allowed_only, allowed_only and require_review)
    values = {"kind": kind, "offset": offset, "limit": limit}
    rows = (await session.execute(query, values)).all()
    return [(int(item), float(score), approved) for item, score, approved in rows]


async def review(session: AsyncSession, kind: str, item_id: int) -> TrendReview | None:
    return await session.get(TrendReview, (kind, item_id))


async def reviews(session: AsyncSession, kind: str, item_ids: Sequence[int]) -> dict[int, bool]:
    if not item_ids:
        return {}
    rows = await session.execute(
        select(TrendReview.item_id, TrendReview.approved).where(
            TrendReview.kind == kind, TrendReview.item_id.in_(item_ids)
        )
    )
    return {int(item): bool(approved) for item, approved in rows.all()}


# --- directory and suggestions ------------------------------------------------------------


def _listable() -> Any:
    """An account the directory and suggestions may show: discoverable, active, not
    silenced (Mastodon's `discoverable` scope), approved."""
    return and_(
        Account.discoverable.is_(True),
        Account.suspended_at.is_(None),
        Account.silenced_at.is_(None),
        exists().where(User.account_id == Account.id, User.approved.is_(True)),
    )


# What the directory's and the suggestions' statements, built once, are executed with.
_VIEWER = access.VIEWER
_NOW = access.NOW
_OFFSET = bindparam("offset", type_=Integer)
_LIMIT = bindparam("limit", type_=Integer)


def _not_excluded_by(viewer_id: Any, now: Any) -> Any:
    """Not blocked either way, and not muted by the viewer (Mastodon's exclusions)."""
    muted = exists().where(
        Mute.account_id == viewer_id,
        Mute.target_account_id == Account.id,
        or_(Mute.expires_at.is_(None), Mute.expires_at > now),
    )
    return and_(~access.blocked_between(viewer_id, Account.id), ~muted)


@functools.cache
def _directory(signed_in: bool, order: str) -> Select[Account]:
    query = select(Account).where(_listable())
    if signed_in:
        query = query.where(_not_excluded_by(_VIEWER, _NOW))
    if order == "new":
        query = query.order_by(Account.id.desc())
    else:  # active: the most recent post first, accounts that never posted last
        query = query.order_by(Account.last_status_at.desc().nulls_last(), Account.id.desc())
    return query.offset(_OFFSET).limit(_LIMIT)


async def directory(
    session: AsyncSession,
    *,
    viewer_id: int | None,
    order: str,
    offset: int,
    limit: int,
    now: datetime,
) -> list[Account]:
    statement = _directory(viewer_id is not None, "new" if order == "new" else "active")
    values = {"viewer_id": viewer_id, "now": now, "offset": offset, "limit": limit}
    return list(await session.scalars(statement, values))


def _candidate() -> Any:
    """An account the viewer may be suggested: listable, not themself, not followed or
    requested already, not excluded, not dismissed."""
    return and_(
        _listable(),
        Account.id != _VIEWER,
        ~exists().where(Follow.account_id == _VIEWER, Follow.target_account_id == Account.id),
        ~exists().where(
            FollowRequest.account_id == _VIEWER, FollowRequest.target_account_id == Account.id
        ),
        ~exists().where(
            SuggestionDismissal.account_id == _VIEWER,
            SuggestionDismissal.target_account_id == Account.id,
        ),
        _not_excluded_by(_VIEWER, _NOW),
    )


_FRIENDS_MINE = aliased(Follow)
_FRIENDS_THEIRS = aliased(Follow)
_WEIGHT = func.count().label("weight")
# Built once: the viewer, the moment and the limit bound.
_FRIENDS_OF_FRIENDS = (
    select(Account, _WEIGHT)
    .join(_FRIENDS_THEIRS, _FRIENDS_THEIRS.target_account_id == Account.id)
    .join(
        _FRIENDS_MINE,
        and_(
            _FRIENDS_MINE.target_account_id == _FRIENDS_THEIRS.account_id,
            _FRIENDS_MINE.account_id == _VIEWER,
        ),
    )
    .where(_candidate())
    .group_by(Account.id)
    .order_by(_WEIGHT.desc(), Account.followers_count.desc(), Account.id.desc())
    .limit(_LIMIT)
)
_MOST_FOLLOWED = (
    select(Account)
    .where(
        _candidate(),
        Account.last_status_at >= bindparam("active_since", type_=DateTime(timezone=True)),
        Account.followers_count > 0,
    )
    .order_by(Account.followers_count.desc(), Account.id.desc())
    .limit(_LIMIT)
)


async def friends_of_friends(
    session: AsyncSession, viewer_id: int, now: datetime, limit: int
) -> list[tuple[Account, int]]:
    """Accounts followed by the accounts the viewer follows, with how many of those follow
    each (the weight), most first."""
    values = {"viewer_id": viewer_id, "now": now, "limit": limit}
    rows = (await session.execute(_FRIENDS_OF_FRIENDS, values)).all()
    return [(account, int(count)) for account, count in rows]


async def most_followed(
    session: AsyncSession, viewer_id: int, now: datetime, active_since: datetime, limit: int
) -> list[Account]:
    """The most followed candidates among accounts that posted since `active_since`."""
    values = {"viewer_id": viewer_id, "now": now, "active_since": active_since, "limit": limit}
    return list(await session.scalars(_MOST_FOLLOWED, values))


async def dismiss(session: AsyncSession, viewer_id: int, account_id: int) -> None:
    found = await session.scalar(
        select(SuggestionDismissal.id).where(
            SuggestionDismissal.account_id == viewer_id,
            SuggestionDismissal.target_account_id == account_id,
        )
    )
    if found is None:
        session.add(SuggestionDismissal(account_id=viewer_id, target_account_id=account_id))


# --- the items ----------------------------------------------------------------------------


async def tags_in_order(session: AsyncSession, ids: Sequence[int]) -> list[Tag]:
    found = {tag.id: tag for tag in await session.scalars(select(Tag).where(Tag.id.in_(ids)))}
    return [found[item] for item in ids if item in found]


async def statuses_in_order(
    session: AsyncSession, ids: Sequence[int], viewer_id: int | None, now: datetime
) -> list[Status]:
    """The statuses the viewer may read, whose author they do not mute, in `ids`' order."""
    if not ids:
        return []
    query = select(Status).where(Status.id.in_(ids), access.readable_by(viewer_id))
    if viewer_id is not None:
        query = query.where(
            ~exists().where(
                Mute.account_id == viewer_id,
                Mute.target_account_id == Status.account_id,
                or_(Mute.expires_at.is_(None), Mute.expires_at > now),
            )
        )
    found = {status.id: status for status in await session.scalars(query)}
    return [found[item] for item in ids if item in found]


async def item_exists(session: AsyncSession, kind: str, item_id: int) -> bool:
    model: Any = {"tag": Tag, "status": Status, "link": PreviewCard}[kind]
    return await session.get(model, item_id) is not None


# --- what accounts write about --------------------------------------------------------------


async def stale_vector_accounts(session: AsyncSession, limit: int) -> list[int]:
    """Active accounts that posted since their vector was made (or have none yet)."""
    query = (
        select(Account.id)
        .outerjoin(AccountVector, AccountVector.account_id == Account.id)
        .where(
            Account.suspended_at.is_(None),
            Account.last_status_at.is_not(None),
            or_(
                AccountVector.updated_at.is_(None),
                AccountVector.updated_at < Account.last_status_at,
            ),
        )
        .order_by(Account.last_status_at.desc())
        .limit(limit)
    )
    return [int(account_id) for account_id in await session.scalars(query)]


async def recent_public_texts(
    session: AsyncSession, account_ids: Sequence[int], per_account: int
) -> dict[int, list[str]]:
    """The text of each account's latest public, original posts (at most `per_account`)."""
    if not account_ids:
        return {}
    rank = (
        func.row_number()
        .over(partition_by=Status.account_id, order_by=Status.id.desc())
        .label("rank")
    )
    latest = (
        select(Status.account_id, Status.text, rank)
        .where(
            Status.account_id.in_(account_ids),
            Status.visibility == Visibility.PUBLIC,
            Status.reblog_of_id.is_(None),
        )
        .subquery()
    )
    rows = await session.execute(
        select(latest.c.account_id, latest.c.text).where(latest.c.rank <= per_account)
    )
    texts: dict[int, list[str]] = defaultdict(list)
    for account_id, text in rows.all():
        texts[int(account_id)].append(text)
    return texts


async def replace_vectors(
    session: AsyncSession, account_ids: Sequence[int], rows: Iterable[AccountVector]
) -> None:
    await session.execute(delete(AccountVector).where(AccountVector.account_id.in_(account_ids)))
    session.add_all(list(rows))


async def followed_vectors(session: AsyncSession, viewer_id: int, limit: int) -> list[bytes]:
    """The vectors of the accounts the viewer followed most recently."""
    query = (
        select(AccountVector.vector)
        .join(Follow, Follow.target_account_id == AccountVector.account_id)
        .where(Follow.account_id == viewer_id, AccountVector.statuses > 0)
        .order_by(Follow.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))


async def own_vector(session: AsyncSession, account_id: int) -> bytes | None:
    return await session.scalar(
        select(AccountVector.vector).where(
            AccountVector.account_id == account_id, AccountVector.statuses > 0
        )
    )


_CANDIDATE_VECTORS = (
    select(Account, AccountVector.vector)
    .join(AccountVector, AccountVector.account_id == Account.id)
    .where(_candidate(), AccountVector.statuses > 0)
    .order_by(Account.last_status_at.desc().nulls_last(), Account.id.desc())
    .limit(_LIMIT)
)


async def candidate_vectors(
    session: AsyncSession, viewer_id: int, now: datetime, limit: int
) -> list[tuple[Account, bytes]]:
    """Candidates (as for every suggestion) that have a vector, most recently active first."""
    values = {"viewer_id": viewer_id, "now": now, "limit": limit}
    rows = (await session.execute(_CANDIDATE_VECTORS, values)).all()
    return [(account, vector) for account, vector in rows]
