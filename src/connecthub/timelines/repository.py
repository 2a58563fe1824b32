"""All SQL of timelines. Every query filters statuses with `statuses.access`, in the query."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    DateTime,
    Integer,
    Select,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    false,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from connecthub.accounts.models import Account
from connecthub.clock import epoch_ms, utcnow
from connecthub.core.pagination import NO_ID_ABOVE, Page, bounded
from connecthub.ids import id_for_time, id_to_ms
from connecthub.infra.compiled import CompiledRead
from connecthub.infra.db import IdType, dialect_of, id_list_rows, in_id_list
from connecthub.relationships.models import Block, Follow, Mute
from connecthub.statuses.access import (
    NOW,
    READABLE,
    VIEWER,
    Moment,
    Viewer,
    exists_by_key,
    not_muted_by,
    readable_by,
    readable_with_boosted,
    viewer_values,
)
from connecthub.statuses.entity_bytes import REF_COLUMNS, Ref
from connecthub.statuses.models import Status, StatusTag, Tag, TagFollow, Visibility
from connecthub.statuses.serializers import flag_columns
from connecthub.timelines.models import List, ListAccount, Marker, MarkerView


async def _page(
    session: AsyncSession, query: Any, page: Page, values: dict[str, Any] | None = None
) -> list[Status]:
    rows = list((await session.execute(page.apply(query, Status.id), values)).scalars())
    return page.newest_first(rows)


# Made once (an alias's columns cost ~0.4 ms to build); each appears only in the FROM of its
# own subquery, so sharing it correlates nothing (statuses/access.py says why).
_BOOSTED = aliased(Status)
_AUTHOR = aliased(Account)


def _boosted_author_not_muted(viewer_id: Viewer, now: Moment | None = None) -> ColumnElement[bool]:
    boosted = _BOOSTED
    return or_(
        Status.reblog_of_id.is_(None),
        exists_by_key(
            boosted,
            boosted.id == Status.reblog_of_id,
            not_muted_by(viewer_id, boosted.account_id, now),
        ),
    )


def _in_exclusive_list(viewer_id: Viewer) -> ColumnElement[bool]:
    """The author is on one of the viewer's exclusive lists: such posts leave home."""
    return exists().where(
        ListAccount.account_id == Status.account_id,
        ListAccount.list_id == List.id,
        List.account_id == viewer_id,
        List.exclusive.is_(True),
    )


def _with_followed_tag(viewer_id: Viewer) -> ColumnElement[bool]:
    """The status carries a hashtag the viewer follows. A keyed probe per row (the status'
    tags, then the viewer's follow of each), as `exists_by_key`: an EXISTS inside home's OR
    may become a hashed subplan reading every status of every followed tag."""
    return (
        select(TagFollow.id)
        .join(StatusTag, StatusTag.tag_id == TagFollow.tag_id)
        .where(StatusTag.status_id == Status.id, TagFollow.account_id == viewer_id)
        .limit(1)
        .scalar_subquery()
        .is_not(None)
    )


def home_filters(viewer_id: Viewer, now: Moment | None = None) -> list[ColumnElement[bool]]:
    """What home shows, as one predicate list shared by every home read (the paged query, the
    Redis feed's id check and its regeneration): own posts, followed accounts' posts, their
    boosts where the follow shows them, public posts (not boosts) with a hashtag the viewer
    follows (as Mastodon, whoever wrote them); never direct messages, muted accounts
    (booster or boosted) or anything `readable_with_boosted` refuses."""
    followed = select(Follow.target_account_id).where(Follow.account_id == viewer_id)
    boosts_shown = followed.where(Follow.show_reblogs.is_(True))
    return [
        or_(
            Status.account_id == viewer_id,
            and_(
                Status.account_id.in_(followed),
                Status.reblog_of_id.is_(None),
                ~_in_exclusive_list(viewer_id),
            ),
            and_(
                Status.account_id.in_(boosts_shown),
                Status.reblog_of_id.is_not(None),
                ~_in_exclusive_list(viewer_id),
            ),
            and_(
                Status.visibility == Visibility.PUBLIC,
                Status.reblog_of_id.is_(None),
                _with_followed_tag(viewer_id),
            ),
        ),
        Status.visibility != Visibility.DIRECT,
        readable_with_boosted(viewer_id),
        not_muted_by(viewer_id, Status.account_id, now),
        _boosted_author_not_muted(viewer_id, now),
    ]


@functools.cache
def _home_among_statement(dialect: str, ascending: bool) -> Select[*tuple[Any, ...]]:
    """Home's hottest statement (every read of a Redis feed), built once per engine and
    direction: making the predicate tree afresh cost more CPU than running the query
    (docs/benchmarks.md). The LIMIT keeps rows the page will not show from being loaded;
    it names the statuses (`Ref`), whose entities come from the cache, never ORM rows,
    with the viewer's flags on them (one round trip fewer than asking after)."""
    order = Status.id.asc() if ascending else Status.id.desc()
    viewer = bindparam("viewer_id", type_=IdType)
    statement = select(
        *REF_COLUMNS,
        *flag_columns(viewer, Status.id),
        *flag_columns(viewer, Status.reblog_of_id),
    )
    if dialect == "postgresql":
        # Driven from the ids, one primary-key probe each. With `id = ANY(:ids)` PostgreSQL
        # folded the ids into the visibility rule's OR branches and scanned the
        # (visibility, id) index for them: 7.5 ms a page on the dense community instead of
        # ~1.3 (docs/benchmarks.md, "Home's tail: renewed copies, per-key tickets, home_among by
        # primary key").
        wanted = id_list_rows("ids", "id", "wanted")
        statement = statement.select_from(wanted.join(Status, Status.id == wanted.c.id))
    else:
        statement = statement.where(in_id_list(Status.id, "ids", dialect))
    return (
        statement.where(*home_filters(viewer, bindparam("now", type_=DateTime(timezone=True))))
        .order_by(order)
        .limit(bindparam("limit"))
    )


@functools.cache
def _home_among_read(dialect: str, ascending: bool) -> CompiledRead:
    return CompiledRead(_home_among_statement(dialect, ascending))


async def home(session: AsyncSession, viewer_id: int, page: Page) -> list[Status]:
    """One page of home straight from the database (embedded mode, cold or deep pages)."""
    return await _page(session, select(Status).where(*home_filters(viewer_id)), page)


# Regenerating a feed reads the viewer's and their followees' statuses in time slices,
# newest first: the first slice spans this long, each next one up to this many times longer.
_FIRST_SLICE_MS = 6 * 3600 * 1000
_SLICE_GROWTH = (4, 256)
_MAX_SLICES = 16


async def home_ids(
    session: AsyncSession,
    viewer_id: int,
    limit: int,
    *,
    below: int | None = None,
    above: int | None = None,
) -> list[int]:
    """The newest `limit` home ids (below `below`, above `above` when given): what a
    regenerated feed holds, or a page older than a feed holds.

    Bounded by the viewer's follows and `limit`, never by the size of `statuses`: as one
    statement (`home_filters`, newest first) PostgreSQL walks the primary key backwards
    and drops every status by someone the viewer does not follow, which on a large table
    and a viewer following few (or quiet) accounts reads most of it (docs/benchmarks.md,
    "Flat under growth"). Instead each slice of time takes, per author, the newest ids from
    the (account_id, id) index, and per followed hashtag from the (tag_id, status_id) one
    (`_home_slice_read`), and `home_filters` then judge only those; the next slice is sized
    from how many the last one held."""
    authors, tags = await _home_sources(session, viewer_id)
    dialect = dialect_of(session)
    found: list[int] = []
    lowest = 0 if above is None else above + 1
    top_ms = epoch_ms() if below is None else id_to_ms(below)
    below = NO_ID_ABOVE if below is None else below
    span = _FIRST_SLICE_MS
    for _slice in range(_MAX_SLICES):
        floor_ms = max(id_to_ms(lowest), top_ms - span)
        need = limit - len(found)
        floor = max(lowest, id_for_time(floor_ms))
        params = {"below": below, "floor": floor, "limit": need}
        candidates = await _slice_ids(session, dialect, authors, tags, params)
        if candidates:
            kept = await _home_ids_among_read(dialect).rows(
                session, {"ids": candidates, "viewer_id": viewer_id, "now": utcnow()}
            )
            found += [row[0] for row in kept]
        if len(found) >= limit:
            return found[:limit]
        if len(candidates) == need:  # the slice holds more: go on below what it gave
            below, top_ms = candidates[-1], id_to_ms(candidates[-1])
            continue
        if floor == lowest:
            return found  # nothing older
        growth = span * 3 // 2 * need // max(1, len(candidates))
        span = min(max(growth, span * _SLICE_GROWTH[0]), span * _SLICE_GROWTH[1])
        below, top_ms = floor, floor_ms
    # Slices that the rules emptied again and again (a viewer muting most of those they
    # follow): the rest in one statement.
    rest = (
        select(Status.id)
        .where(Status.id < below, Status.id >= lowest, *home_filters(viewer_id))
        .order_by(Status.id.desc())
        .limit(limit - len(found))
    )
    return found + list((await session.execute(rest)).scalars())


async def home_page(session: AsyncSession, viewer_id: int, page: Page) -> list[Ref]:
    """A newest-first page of home (`max_id`, `since_id`) from the database, found as a
    rebuild finds its ids (`home_ids`): pages older than a feed holds, or while it is being
    built. The one statement (`home`) walks `statuses` backwards past everyone the viewer
    does not follow, which on a large table is most of it."""
    ids = await home_ids(session, viewer_id, page.limit, below=page.max_id, above=page.since_id)
    return await home_among(session, viewer_id, ids, page.limit, ascending=False)


async def _home_sources(session: AsyncSession, viewer_id: int) -> tuple[list[int], list[int]]:
    """Where a home's statuses come from, in one statement: its authors (the viewer and
    everyone they follow) and the hashtags the viewer follows."""
    statement = union_all(
        select(literal(0), Follow.target_account_id).where(Follow.account_id == viewer_id),
        select(literal(1), TagFollow.tag_id).where(TagFollow.account_id == viewer_id),
    )
    authors: list[int] = [viewer_id]
    tags: list[int] = []
    for kind, value in (await session.execute(statement)).all():
        (tags if kind else authors).append(int(value))
    return authors, tags


async def _slice_ids(
    session: AsyncSession,
    dialect: str,
    authors: list[int],
    tags: list[int],
    params: dict[str, Any],
) -> list[int]:
    """The newest `limit` ids in the slice by the authors or with the followed hashtags."""
    by_author = await _home_slice_read(dialect, False).rows(session, {**params, "keys": authors})
    ids = [row[0] for row in by_author]
    if tags:
        by_tag = await _home_slice_read(dialect, True).rows(session, {**params, "keys": tags})
        ids = sorted({*ids, *(row[0] for row in by_tag)}, reverse=True)[: params["limit"]]
    return ids


@functools.cache
def _home_slice_read(dialect: str, by_tag: bool) -> CompiledRead:
    """Up to `limit` ids in [floor, below), newest first, by the `keys` (authors; or, `by_tag`,
    followed hashtags), WITHOUT any other home rule. On PostgreSQL, one index probe per key
    (a LATERAL over the key array), so the work is the keys plus the rows in the slice
    whatever the table's size or the planner's estimates; SQLite has no LATERAL and gets an
    IN over the same index ((account_id, id) of statuses, (tag_id, status_id) of tags)."""
    below = bindparam("below", type_=IdType)
    floor = bindparam("floor", type_=IdType)
    limit: BindParameter[int] = bindparam("limit", type_=Integer)
    key, status_id = (
        (StatusTag.tag_id, StatusTag.status_id) if by_tag else (Status.account_id, Status.id)
    )
    if dialect != "postgresql":
        return CompiledRead(
            select(status_id)
            .where(in_id_list(key, "keys", dialect), status_id < below, status_id >= floor)
            .order_by(status_id.desc())
            .limit(limit)
        )
    keys = id_list_rows("keys", "key", "keys")
    newest = (
        select(status_id.label("id"))
        .where(key == keys.c.key, status_id < below, status_id >= floor)
        .order_by(status_id.desc())
        .limit(limit)
        .lateral("newest")
    )
    return CompiledRead(
        select(newest.c.id)
        .select_from(keys)
        .join(newest, true())
        .order_by(newest.c.id.desc())
        .limit(limit)
    )


@functools.cache
def _home_ids_among_read(dialect: str) -> CompiledRead:
    """Which of `ids` home may show the viewer, newest first."""
    return CompiledRead(
        select(Status.id)
        .where(
            in_id_list(Status.id, "ids", dialect),
            *home_filters(
                bindparam("viewer_id", type_=IdType),
                bindparam("now", type_=DateTime(timezone=True)),
            ),
        )
        .order_by(Status.id.desc())
    )


async def home_among(
    session: AsyncSession, viewer_id: int, ids: Sequence[int], limit: int, *, ascending: bool
) -> list[Ref]:
    """Up to `limit` of the statuses among `ids` that home may show the viewer now, in one
    query (newest first, or oldest first when `ascending`): a feed entry is a hint, the
    visibility rules are checked again on every read."""
    if not ids:
        return []
    statement = _home_among_read(dialect_of(session), ascending)
    params = {"ids": list(ids), "viewer_id": viewer_id, "now": utcnow(), "limit": limit}
    rows = await statement.rows(session, params)
    return [
        Ref(row[0], row[1], row[2], row[3], row[4], row[5], viewer_flags=tuple(row[6:]))
        for row in rows
    ]


@functools.cache
def _home_candidates_statement(ascending: bool) -> Select[int]:
    """The page's newest (or oldest) ids by the home's authors or with a hashtag the viewer
    follows. SQLite walks the primary key over the page's range and checks each row (an
    author in the list, or one probe of the status' tags): no sort, one statement."""
    viewer = cast(bindparam("viewer_id", type_=IdType), IdType)
    authors = union_all(
        select(viewer), select(Follow.target_account_id).where(Follow.account_id == viewer)
    )
    order = Status.id.asc() if ascending else Status.id.desc()
    return (
        select(Status.id)
        .where(
            or_(Status.account_id.in_(authors), _with_followed_tag(viewer)),
            Status.id < bindparam("below", type_=IdType),
            Status.id > bindparam("above", type_=IdType),
        )
        .order_by(order)
        .limit(bindparam("limit"))
    )


async def home_candidates(
    session: AsyncSession, viewer_id: int, page: Page, limit: int
) -> list[int]:
    """Up to `limit` ids of the page's statuses by the viewer or an account they follow, or
    with a hashtag the viewer follows, newest first (oldest first when the page is
    ascending), WITHOUT any other home rule: what a home feed would hold. `home_among` then
    keeps those home may show (embedded mode, timelines/feeds.py)."""
    params = {
        "viewer_id": viewer_id,
        "below": page.below,
        "above": page.above,
        "limit": limit,
    }
    statement = _home_candidates_statement(page.ascending)
    return list((await session.execute(statement, params)).scalars())


async def home_ids_by(
    session: AsyncSession, viewer_id: int, author_id: int, limit: int
) -> list[int]:
    """The newest home-visible ids by one author (merging a new follow into a feed)."""
    query = (
        select(Status.id)
        .where(Status.account_id == author_id, *home_filters(viewer_id))
        .order_by(Status.id.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def home_ids_tagged(
    session: AsyncSession, viewer_id: int, tag_id: int, limit: int
) -> list[int]:
    """The newest home-visible ids with one hashtag (merging a new tag follow into a feed),
    walking the hashtag's (tag_id, status_id) index."""
    query = (
        select(StatusTag.status_id)
        .join(Status, Status.id == StatusTag.status_id)
        .where(StatusTag.tag_id == tag_id, *home_filters(viewer_id))
        .order_by(StatusTag.status_id.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def tagged_not_shown(
    session: AsyncSession, viewer_id: int, ids: Sequence[int], tag_id: int
) -> list[int]:
    """Which of `ids` carry the hashtag and are no longer home's (unmerging a tag follow:
    a post also by someone the viewer follows stays)."""
    if not ids:
        return []
    query = select(StatusTag.status_id).where(
        StatusTag.tag_id == tag_id, StatusTag.status_id.in_(ids)
    )
    tagged = list((await session.execute(query)).scalars())
    if not tagged:
        return []
    shown = await _home_ids_among_read(dialect_of(session)).rows(
        session, {"ids": tagged, "viewer_id": viewer_id, "now": utcnow()}
    )
    return sorted(set(tagged) - {row[0] for row in shown})


_INVOLVING_BOOSTED = aliased(Status)


async def involving(session: AsyncSession, ids: Sequence[int], account_id: int) -> list[int]:
    """Which of `ids` are by `account_id` or boost one of its statuses (unmerging)."""
    if not ids:
        return []
    query = select(Status.id).where(
        Status.id.in_(ids),
        or_(
            Status.account_id == account_id,
            exists().where(
                _INVOLVING_BOOSTED.id == Status.reblog_of_id,
                _INVOLVING_BOOSTED.account_id == account_id,
            ),
        ),
    )
    return list((await session.execute(query)).scalars())


def _live_mute(follower: Any, author_id: Any, now: Any = None) -> ColumnElement[bool]:
    return exists().where(
        Mute.account_id == follower,
        Mute.target_account_id == author_id,
        or_(Mute.expires_at.is_(None), Mute.expires_at > (utcnow() if now is None else now)),
    )


def _block(follower: Any, author_id: Any) -> ColumnElement[bool]:
    return exists().where(
        or_(
            and_(Block.account_id == follower, Block.target_account_id == author_id),
            and_(Block.account_id == author_id, Block.target_account_id == follower),
        )
    )


async def new_status_audience(
    session: AsyncSession, author_id: int, after: int, size: int, *, with_lists: bool
) -> tuple[list[int], list[int]]:
    """For a new status (not a boost; `audience_chunk`'s rule): the next `size` followers by
    id after `after` whose home gets it and, `with_lists`, the lists that hold the author,
    in one compiled read (the fan-out's first chunk asked twice, and building the statement
    cost about as much CPU as running it)."""
    read = _new_status_audience(with_lists)
    params = {"author": author_id, "after": after, "size": size, "now": utcnow()}
    followers: list[int] = []
    lists: list[int] = []
    for kind, value in await read.rows(session, params):
        (lists if kind else followers).append(int(value))
    followers.sort()  # a UNION keeps no order
    return followers, lists


@functools.cache
def _new_status_audience(with_lists: bool) -> CompiledRead:
    author = bindparam("author", type_=IdType)
    follower = Follow.account_id
    chunk: Select[int, int] = (
        select(literal_column("0", Integer).label("kind"), follower.label("id"))
        .where(
            Follow.target_account_id == author,
            follower > bindparam("after", type_=IdType),
            ~_live_mute(follower, author, bindparam("now", type_=Mute.expires_at.type)),
            ~_block(follower, author),
        )
        .order_by(follower)
        .limit(bindparam("size", type_=Integer))
    )
    if not with_lists:
        return CompiledRead(chunk)
    lists: Select[int, int] = select(literal_column("1", Integer), ListAccount.list_id).where(
        ListAccount.account_id == author
    )
    return CompiledRead(union_all(select(chunk.subquery()), lists))


async def tag_follower_chunk(
    session: AsyncSession, status_id: int, after: int, size: int
) -> list[int]:
    """The next `size` accounts (by id, after `after`) following a hashtag of a public status
    (not a boost) whose home gets it that way: not its author, nor anyone following the
    author (the followers' fan-out brings it to them), never someone who may not read it or
    mutes its author. Empty when the status is gone or no longer public. A compiled read
    (building the statement cost several times what running it did)."""
    params = {"status": status_id, "after": after, "size": size, "now": utcnow()}
    return [int(row[0]) for row in await _tag_follower_chunk().rows(session, params)]


@functools.cache
def _tag_follower_chunk() -> CompiledRead:
    follower = TagFollow.account_id
    status_id = bindparam("status", type_=IdType)
    return CompiledRead(
        select(follower)
        .join(StatusTag, StatusTag.tag_id == TagFollow.tag_id)
        .join(Status, Status.id == StatusTag.status_id)
        .where(
            StatusTag.status_id == status_id,
            Status.visibility == Visibility.PUBLIC,
            Status.reblog_of_id.is_(None),
            follower > bindparam("after", type_=IdType),
            follower != Status.account_id,
            ~exists().where(
                Follow.account_id == follower, Follow.target_account_id == Status.account_id
            ),
            readable_by(follower, Status),
            not_muted_by(follower, Status.account_id, bindparam("now", type_=Mute.expires_at.type)),
        )
        .group_by(follower)
        .order_by(follower)
        .limit(bindparam("size", type_=Integer))
    )


async def audience_chunk(session: AsyncSession, status: Status, after: int, size: int) -> list[int]:
    """The next `size` followers (by id, after `after`) whose home gets `status`: for a boost
    only those who show boosts; never those who mute the author or share a block with them.
    Keyset over the (target, follower) index, so a huge follower list is never loaded."""
    follower = Follow.account_id
    author = status.account_id
    query = (
        select(follower)
        .where(
            Follow.target_account_id == author,
            follower > after,
            ~_live_mute(follower, author),
            ~_block(follower, author),
        )
        .order_by(follower)
        .limit(size)
    )
    if status.reblog_of_id is not None:
        query = query.where(Follow.show_reblogs.is_(True))
    return list((await session.execute(query)).scalars())


async def followers_chunk(
    session: AsyncSession, account_id: int, after: int, size: int
) -> list[int]:
    query = (
        select(Follow.account_id)
        .where(Follow.target_account_id == account_id, Follow.account_id > after)
        .order_by(Follow.account_id)
        .limit(size)
    )
    return list((await session.execute(query)).scalars())


async def follows(session: AsyncSession, account_id: int, target_id: int) -> bool:
    query = select(Follow.id).where(
        Follow.account_id == account_id, Follow.target_account_id == target_id
    )
    return (await session.execute(query)).first() is not None


def _author_not_limited() -> ColumnElement[bool]:
    # Mastodon's public feeds leave limited (silenced) authors out for every reader, their
    # followers included: those see them in home.
    author = _AUTHOR
    return ~exists().where(author.id == Status.account_id, author.silenced_at.is_not(None))


@functools.cache
def _public_filters(signed_in: bool, only_media: bool) -> tuple[Any, ...]:
    """The public feeds' conditions, made once: the viewer (`viewer_id`) and the moment
    mutes are judged at (`now`) bound (`_public_values`)."""
    filters: list[Any] = [
        Status.visibility == Visibility.PUBLIC,
        Status.reblog_of_id.is_(None),
        READABLE[signed_in],
        _author_not_limited(),
    ]
    if signed_in:
        now = bindparam("now", type_=DateTime(timezone=True))
        filters.append(not_muted_by(VIEWER, Status.account_id, now))
    if only_media:
        filters.append(Status.has_media.is_(True))
    return tuple(filters)


def _public_values(viewer_id: int | None) -> dict[str, Any]:
    return {} if viewer_id is None else {**viewer_values(viewer_id), "now": utcnow()}


@functools.cache
def _public_page(signed_in: bool, only_media: bool, ascending: bool) -> Select[Any]:
    """A page of the public feed, built once per shape with its cursor bound (`Page.below`,
    `Page.above`): the statuses named (`Ref`), never ORM rows, with a signed-in viewer's
    flags on them (the feed holds no boosts), as home's page reads them. Building the
    statement and its cache key per request cost more CPU than running it."""
    columns: list[Any] = [*REF_COLUMNS]
    if signed_in:
        columns += flag_columns(VIEWER, Status.id)
    statement = select(*columns).where(*_public_filters(signed_in, only_media))
    return bounded(statement, Status.id, ascending=ascending)


async def public(
    session: AsyncSession, viewer_id: int | None, page: Page, *, only_media: bool
) -> list[Ref]:
    signed_in = viewer_id is not None
    statement = _public_page(signed_in, only_media, page.ascending)
    values = {**_public_values(viewer_id), **page.bound}
    rows = (await session.execute(statement, values)).all()
    refs = [
        Ref(row[0], row[1], row[2], row[3], row[4], row[5], tuple(row[6:]) if signed_in else None)
        for row in rows
    ]
    return page.newest_first(refs)


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
    """The statuses are looked up from the tags' own index (`status_tags (tag_id,
    status_id)`) rather than the tags checked on every status newest first: a rare tag's
    page read every status older than its posts (12 ms on 5,000 statuses, growing with the
    table). An unknown tag costs one lookup."""
    keys = list(dict.fromkeys(name.lower() for name in any_of))
    tag_ids = list((await session.execute(select(Tag.id).where(Tag.name_key.in_(keys)))).scalars())
    if not tag_ids:
        return []
    tagged = select(StatusTag.status_id).where(StatusTag.tag_id.in_(tag_ids))
    filters = [*_public_filters(viewer_id is not None, only_media), Status.id.in_(tagged)]
    filters += [_tagged([name]) for name in all_of]
    if none_of:
        filters.append(~_tagged(none_of))
    return await _page(session, select(Status).where(*filters), page, _public_values(viewer_id))


# Lists


async def lists_of(session: AsyncSession, account_id: int) -> list[List]:
    query = select(List).where(List.account_id == account_id).order_by(List.id)
    return list((await session.execute(query)).scalars())


async def list_of(
    session: AsyncSession, account_id: int, list_id: int, *, for_update: bool = False
) -> List | None:
    query = select(List).where(List.id == list_id, List.account_id == account_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def lists_with_member(session: AsyncSession, member_id: int) -> list[int]:
    """Every list that holds an account (whose list streams get its posts)."""
    query = select(ListAccount.list_id).where(ListAccount.account_id == member_id)
    return list((await session.execute(query)).scalars())


async def lists_containing(session: AsyncSession, owner_id: int, member_id: int) -> list[List]:
    query = (
        select(List)
        .join(ListAccount, ListAccount.list_id == List.id)
        .where(List.account_id == owner_id, ListAccount.account_id == member_id)
        .order_by(List.id)
    )
    return list((await session.execute(query)).scalars())


async def members(session: AsyncSession, list_id: int, page: Page) -> list[tuple[int, Account]]:
    """A page of (membership id, account) for a list, keyset on the membership id; suspended
    accounts are left out."""
    query = (
        select(ListAccount.id, Account)
        .join(Account, Account.id == ListAccount.account_id)
        .where(ListAccount.list_id == list_id, Account.suspended_at.is_(None))
    )
    rows = (await session.execute(page.apply(query, ListAccount.id))).all()
    return page.newest_first([(row[0], row[1]) for row in rows])


async def followed_among(
    session: AsyncSession, account_id: int, target_ids: Sequence[int]
) -> set[int]:
    query = select(Follow.target_account_id).where(
        Follow.account_id == account_id, Follow.target_account_id.in_(target_ids)
    )
    return set((await session.execute(query)).scalars())


async def existing_members(
    session: AsyncSession, list_id: int, account_ids: Sequence[int]
) -> set[int]:
    query = select(ListAccount.account_id).where(
        ListAccount.list_id == list_id, ListAccount.account_id.in_(account_ids)
    )
    return set((await session.execute(query)).scalars())


async def remove_members(session: AsyncSession, list_id: int, account_ids: Sequence[int]) -> None:
    await session.execute(
        delete(ListAccount).where(
            ListAccount.list_id == list_id, ListAccount.account_id.in_(account_ids)
        )
    )


async def clear_list(session: AsyncSession, list_id: int) -> None:
    await session.execute(delete(ListAccount).where(ListAccount.list_id == list_id))


async def drop_from_lists(session: AsyncSession, owner_id: int, member_id: int) -> None:
    """An unfollowed account leaves every list of its former follower (as Mastodon)."""
    owned = select(List.id).where(List.account_id == owner_id)
    await session.execute(
        delete(ListAccount).where(
            ListAccount.account_id == member_id, ListAccount.list_id.in_(owned)
        )
    )


_LIST = bindparam("list_id", type_=IdType)


def _reply_allowed(replies_policy: str) -> ColumnElement[bool]:
    """Mastodon's `replies_policy`: a self-reply or a reply to the owner always shows;
    otherwise `followed` shows replies to accounts the owner follows, `list` replies to list
    members, `none` no other replies."""
    always = or_(
        Status.in_reply_to_id.is_(None),
        Status.in_reply_to_account_id == Status.account_id,
        Status.in_reply_to_account_id == VIEWER,
    )
    if replies_policy == "followed":
        extra: ColumnElement[bool] = exists().where(
            Follow.account_id == VIEWER,
            Follow.target_account_id == Status.in_reply_to_account_id,
        )
    elif replies_policy == "list":
        extra = exists().where(
            ListAccount.list_id == _LIST,
            ListAccount.account_id == Status.in_reply_to_account_id,
        )
    else:
        extra = false()
    return or_(always, extra)


@functools.cache
def _list_page(replies_policy: str, ascending: bool) -> Select[Status]:
    """A page of a list, built once per replies policy and direction: the list, its owner
    (the viewer) and the cursor bound."""
    members = select(ListAccount.account_id).where(ListAccount.list_id == _LIST)
    statement = select(Status).where(
        Status.account_id.in_(members),
        Status.visibility != Visibility.DIRECT,
        _reply_allowed(replies_policy),
        readable_with_boosted(VIEWER),
        not_muted_by(VIEWER, Status.account_id, NOW),
        _boosted_author_not_muted(VIEWER, NOW),
    )
    return bounded(statement, Status.id, ascending=ascending)


async def list_timeline(session: AsyncSession, lst: List, page: Page) -> list[Status]:
    """Posts and boosts by the list's members, as home would filter them for its owner."""
    statement = _list_page(lst.replies_policy, page.ascending)
    values = {"list_id": lst.id, "viewer_id": lst.account_id, "now": utcnow(), **page.bound}
    rows = list((await session.scalars(statement, values)).all())
    return page.newest_first(rows)


# Markers


# Every marker of an account (two at most): a compiled read, so a GET of the markers runs
# on a pool connection without a session's transaction (infra/compiled.py).
_MARKER_VIEWS = CompiledRead(
    select(Marker.timeline, Marker.last_read_id, Marker.version, Marker.updated_at).where(
        Marker.account_id == bindparam("account_id", type_=IdType)
    )
)


async def marker_views(
    session: AsyncSession, account_id: int, timelines: Sequence[str]
) -> list[MarkerView]:
    rows = await _MARKER_VIEWS.rows(session, {"account_id": account_id})
    return [MarkerView(*row) for row in rows if row[0] in timelines]


async def markers(session: AsyncSession, account_id: int, timelines: Sequence[str]) -> list[Marker]:
    query = select(Marker).where(Marker.account_id == account_id, Marker.timeline.in_(timelines))
    return list((await session.execute(query)).scalars())


async def existing_statuses(session: AsyncSession, ids: Sequence[int]) -> list[int]:
    """Those of `ids` that are still statuses."""
    return list(await session.scalars(select(Status.id).where(Status.id.in_(list(ids)))))
