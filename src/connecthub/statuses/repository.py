"""All SQL of the statuses domain. Reads of other people's statuses always carry
`access.readable_by` / `readable_with_boosted` in the query; counters move by atomic
UPDATEs, never read-modify-write."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    delete,
    false,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from connecthub.accounts.models import Account, User
from connecthub.clock import utcnow
from connecthub.core.pagination import Page, bounded
from connecthub.ids import id_for_time, new_id
from connecthub.infra import entity_cache
from connecthub.infra.compiled import CompiledRead
from connecthub.infra.db import IdType, insert_as_loaded, insert_once, insert_rows
from connecthub.relationships.models import Follow
from connecthub.statuses import access
from connecthub.statuses.models import (
    Bookmark,
    Favourite,
    FeaturedTag,
    Mention,
    Poll,
    PollVote,
    Status,
    StatusEdit,
    StatusPin,
    StatusTag,
    Tag,
    TagFollow,
    ThreadMute,
    Visibility,
)

Counter = InstrumentedAttribute[int]


async def readable_status(
    session: AsyncSession, viewer_id: int | None, status_id: int, *, for_update: bool = False
) -> Status | None:
    """`for_update` locks the status row (PostgreSQL; SQLite's writers lock the database)."""
    query, values = access.readable_status_query(viewer_id, status_id, for_update=for_update)
    status: Status | None = (await session.execute(query, values)).scalar_one_or_none()
    return status


async def status_by_id(session: AsyncSession, status_id: int) -> Status | None:
    return await session.get(Status, status_id)


async def readable_statuses(
    session: AsyncSession, viewer_id: int | None, status_ids: Sequence[int]
) -> list[Status]:
    if not status_ids:
        return []
    query, values = access.readable_statuses_query(viewer_id, status_ids)
    return list((await session.scalars(query, values)).all())


def _count_post() -> Any:
    # Spelled out: SQLAlchemy writes SQLite's RETURNING columns unqualified, so the
    # correlation would read `account_id = id`, both the users table's.
    own_user = literal_column("users.account_id") == literal_column("accounts.id")
    privacy = select(User.default_privacy).where(own_user).scalar_subquery()
    role = select(User.role).where(own_user).scalar_subquery()
    account = bindparam("account", type_=IdType)
    when = bindparam("when", type_=Account.last_status_at.type)
    return (
        update(Account)
        .where(Account.id == account, Account.suspended_at.is_(None))
        .values(statuses_count=Account.statuses_count + 1, last_status_at=when)
        .returning(Account, privacy, role)
        # The returned row refreshes the session's copy: no evaluation of the criteria
        # against the identity map (a sixth of this statement's CPU).
        .execution_options(synchronize_session=False)
    )


# Built once (every post runs it; building it cost about what running it did).
_COUNT_POST = _count_post()


async def count_post(
    session: AsyncSession, account_id: int, when: datetime
) -> tuple[Account, str | None, str | None] | None:
    """A new post counted on its author (`statuses_count`, `last_status_at`), answering the
    account row as updated with its user's default visibility and role (None: no user row),
    in one statement: a post's only read of its author. None when the account is missing
    or suspended (nothing counted)."""
    row = (await session.execute(_COUNT_POST, {"account": account_id, "when": when})).first()
    # Its WHERE binds the id at execution: the entity cache is told what changed.
    entity_cache.record_update(session, "accounts", [account_id], counts=True)
    return None if row is None else (row[0], row[1], row[2])


async def local_accounts_by_username(
    session: AsyncSession, usernames: Sequence[str]
) -> list[Account]:
    if not usernames:
        return []
    query = select(Account).where(
        Account.username_key.in_([u.lower() for u in usernames]), Account.suspended_at.is_(None)
    )
    return list((await session.scalars(query)).all())


# Built once: a post with hashtags asks it (building it cost about what running it did).
_TAGS_BY_KEY = select(Tag).where(Tag.name_key.in_(bindparam("keys", expanding=True)))


async def tags_by_name(session: AsyncSession, names: Sequence[str]) -> list[Tag]:
    """The tags, created when missing (a concurrent creator wins the unique key)."""
    if not names:
        return []
    keys = {name.lower(): name for name in names}
    rows = await session.scalars(_TAGS_BY_KEY, {"keys": list(keys)})
    found = {tag.name_key: tag for tag in rows}
    for key, name in keys.items():
        if key in found:
            continue
        tag = Tag(name=name, name_key=key)
        try:
            async with session.begin_nested():
                session.add(tag)
        except IntegrityError:
            tag = (await session.execute(select(Tag).where(Tag.name_key == key))).scalar_one()
        found[key] = tag
    return [found[key] for key in keys]


async def insert_status(session: AsyncSession, status: Status) -> None:
    """A new status row, inserted at once by a statement built once (`insert_as_loaded`):
    its mentions and tags refer to it."""
    await insert_as_loaded(session, status)


async def add_mentions(session: AsyncSession, status_id: int, account_ids: list[int]) -> None:
    # Ids made here, in order: the mentions are read back in id order (the text's order).
    rows = [{"id": new_id(), "status_id": status_id, "account_id": a} for a in account_ids]
    await insert_rows(session, Mention, rows)


async def add_tags(session: AsyncSession, status_id: int, tag_ids: list[int]) -> None:
    rows = [{"status_id": status_id, "tag_id": t} for t in tag_ids]
    await insert_rows(session, StatusTag, rows)


async def replace_mentions(session: AsyncSession, status_id: int, account_ids: list[int]) -> None:
    """An edit: the new text's mentions replace the old ones."""
    await session.execute(delete(Mention).where(Mention.status_id == status_id))
    await add_mentions(session, status_id, account_ids)


async def replace_tags(session: AsyncSession, status_id: int, tag_ids: list[int]) -> None:
    await session.execute(delete(StatusTag).where(StatusTag.status_id == status_id))
    await add_tags(session, status_id, tag_ids)


async def mentioned_account_ids(session: AsyncSession, status_id: int) -> list[int]:
    query = select(Mention.account_id).where(Mention.status_id == status_id).order_by(Mention.id)
    return list((await session.scalars(query)).all())


async def bump(
    session: AsyncSession, model: Any, row_id: int, column: Counter, by: int = 1
) -> None:
    """`UPDATE … SET column = column + by` in the caller's transaction (a counter only:
    cached copies made before are behind by a count, `entity_cache.COUNTS_ONLY`)."""
    values: dict[str, Any] = {column.key: column + by}
    statement = update(model).where(model.id == row_id).values(**values)
    await session.execute(statement.execution_options(**entity_cache.COUNTS_ONLY))


async def count_status_posted(session: AsyncSession, account_id: int, when: datetime) -> None:
    await session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(statuses_count=Account.statuses_count + 1, last_status_at=when)
        .execution_options(**entity_cache.COUNTS_ONLY)
    )


def _subscribers(status: Status, after: int) -> Select[Any]:
    """Followers who asked to be notified of the author's posts, by account id after
    `after`; those the status mentions are left out (they hear of it as a mention)."""
    mentioned = select(Mention.account_id).where(Mention.status_id == status.id)
    return (
        select(Follow.account_id)
        .where(
            Follow.target_account_id == status.account_id,
            Follow.notify.is_(True),
            Follow.account_id > after,
            Follow.account_id.not_in(mentioned),
        )
        .order_by(Follow.account_id)
    )


async def subscriber_chunk(
    session: AsyncSession, status: Status, after: int, size: int
) -> list[int]:
    """The next `size` subscribers (`_subscribers`) after `after`."""
    return list((await session.scalars(_subscribers(status, after).limit(size))).all())


async def new_status_subscribers(
    session: AsyncSession, status_id: int, after: int, upto: int | None, *, wanted: bool
) -> list[int] | None:
    """None when the status is gone; else its author's subscribers with ids in (`after`,
    `upto`] (None: no bound), those it mentions left out (`_subscribers`), or [] when not
    `wanted`: one query answers both."""
    read = _new_status_subscribers(upto is not None, wanted)
    params: dict[str, Any] = {"status_id": status_id, "after": after}
    if upto is not None:
        params["upto"] = upto
    rows = await read.rows(session, params)
    if not rows:
        return None
    return [row[1] for row in rows if row[1] is not None]


@functools.cache
def _new_status_subscribers(bounded: bool, wanted: bool) -> CompiledRead:
    """Built once per shape (building it cost more than running it)."""
    status_id = bindparam("status_id", type_=IdType)
    mentioned = select(Mention.account_id).where(Mention.status_id == status_id)
    joined = [
        Follow.target_account_id == Status.account_id,
        Follow.notify.is_(True),
        Follow.account_id > bindparam("after", type_=IdType),
        Follow.account_id.not_in(mentioned),
    ]
    if bounded:
        joined.append(Follow.account_id <= bindparam("upto", type_=IdType))
    if not wanted:
        joined.append(false())
    return CompiledRead(
        select(Status.id, Follow.account_id)
        .outerjoin(Follow, and_(*joined))
        .where(Status.id == status_id)
        .order_by(Follow.account_id)
    )


async def boost_of(session: AsyncSession, account_id: int, status_id: int) -> Status | None:
    query = select(Status).where(Status.account_id == account_id, Status.reblog_of_id == status_id)
    return (await session.execute(query)).scalars().first()


async def boosts_of(session: AsyncSession, status_id: int) -> list[Status]:
    query = select(Status).where(Status.reblog_of_id == status_id)
    return list((await session.scalars(query)).all())


async def booster_ids(session: AsyncSession, status_id: int) -> list[int]:
    query = select(Status.account_id).where(Status.reblog_of_id == status_id)
    return list((await session.scalars(query)).all())


async def add_unique(session: AsyncSession, row: Any) -> bool:
    """Insert a row guarded by a unique key; False when it was already there."""
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


async def delete_row(session: AsyncSession, model: Any, **where: int) -> int | None:
    """Delete the row matching `where`; its id, or None when there was none."""
    conditions = [getattr(model, name) == value for name, value in where.items()]
    row_id = (await session.execute(select(model.id).where(*conditions))).scalar_one_or_none()
    if row_id is None:
        return None
    result = await session.execute(delete(model).where(model.id == row_id))
    return row_id if getattr(result, "rowcount", 1) else None


async def pin_count(session: AsyncSession, account_id: int) -> int:
    query = select(func.count()).select_from(StatusPin).where(StatusPin.account_id == account_id)
    return int((await session.execute(query)).scalar_one())


async def poll_for_status(session: AsyncSession, status_id: int) -> Poll | None:
    query = select(Poll).where(Poll.status_id == status_id)
    return (await session.execute(query)).scalar_one_or_none()


async def has_voted(session: AsyncSession, poll_id: int, account_id: int) -> bool:
    query = select(PollVote.id).where(
        PollVote.poll_id == poll_id, PollVote.account_id == account_id
    )
    return (await session.execute(query.limit(1))).first() is not None


async def poll_voter_ids(session: AsyncSession, poll_id: int) -> list[int]:
    query = select(PollVote.account_id).where(PollVote.poll_id == poll_id).distinct()
    return list((await session.scalars(query)).all())


async def edits_of(session: AsyncSession, status_id: int) -> list[StatusEdit]:
    query = select(StatusEdit).where(StatusEdit.status_id == status_id).order_by(StatusEdit.id)
    return list((await session.scalars(query)).all())


async def tags_of(session: AsyncSession, status_id: int) -> list[Tag]:
    query = (
        select(Tag)
        .join(StatusTag, StatusTag.tag_id == Tag.id)
        .where(StatusTag.status_id == status_id)
    )
    return list((await session.scalars(query)).all())


# Threads ---------------------------------------------------------------------------------

CONTEXT_LIMIT = 1024
ANCESTORS_LIMIT = 40


# The context's statements, built once (a thread is opened far more often than posted to).
_PARENT = select(Status.id, Status.in_reply_to_id).where(
    Status.id == bindparam("status_id", type_=IdType)
)


async def ancestors(session: AsyncSession, viewer_id: int | None, status: Status) -> list[Status]:
    """Walk up the reply chain (one query per level, bounded), keeping what the viewer may
    read; oldest first."""
    chain: list[int] = []
    parent_id = status.in_reply_to_id
    seen = {status.id}
    while parent_id is not None and parent_id not in seen and len(chain) < ANCESTORS_LIMIT:
        seen.add(parent_id)
        row = (await session.execute(_PARENT, {"status_id": parent_id})).first()
        if row is None:
            break
        chain.append(row[0])
        parent_id = row[1]
    readable = {s.id: s for s in await readable_statuses(session, viewer_id, chain)}
    return [readable[i] for i in reversed(chain) if i in readable]


async def descendants(session: AsyncSession, viewer_id: int | None, status: Status) -> list[Status]:
    """Replies below `status`, depth first as Mastodon orders them, readable by the viewer.
    The thread's rows are read in one query by conversation (bounded); a reply whose parent
    is hidden from the viewer hides its own subtree too."""
    if status.conversation_id is None:
        return []
    values = {
        **access.viewer_values(viewer_id),
        "conversation_id": status.conversation_id,
        "status_id": status.id,
    }
    rows = list((await session.scalars(_DESCENDANTS[viewer_id is not None], values)).all())
    children: dict[int, list[Status]] = {}
    for row in rows:
        if row.in_reply_to_id is not None:
            children.setdefault(row.in_reply_to_id, []).append(row)
    ordered: list[Status] = []
    stack = list(reversed(children.get(status.id, [])))
    while stack:
        current = stack.pop()
        ordered.append(current)
        stack.extend(reversed(children.get(current.id, [])))
    return ordered


_DESCENDANTS = {
    signed_in: select(Status)
    .where(
        Status.conversation_id == bindparam("conversation_id", type_=IdType),
        Status.id > bindparam("status_id", type_=IdType),
        Status.reblog_of_id.is_(None),
        readable,
    )
    .order_by(Status.id)
    .limit(CONTEXT_LIMIT)
    for signed_in, readable in access.READABLE_OWN.items()
}


# Lists -----------------------------------------------------------------------------------


async def account_statuses(
    session: AsyncSession,
    viewer_id: int | None,
    account_id: int,
    page: Page,
    *,
    exclude_replies: bool,
    exclude_reblogs: bool,
    only_media: bool,
    pinned: bool,
    tagged: str | None,
) -> list[Status]:
    statement = _account_statuses_statement(
        viewer_id is not None,
        page.ascending,
        pinned=pinned,
        exclude_replies=exclude_replies,
        originals_only=exclude_reblogs or bool(tagged) or only_media,
        only_media=only_media,
        tagged=bool(tagged),
    )
    values = {
        **access.viewer_values(viewer_id),
        **page.bound,
        "account_id": account_id,
        "tag": (tagged or "").lower(),
    }
    rows = list((await session.scalars(statement, values)).all())
    return page.newest_first(rows)


@functools.cache
def _account_statuses_statement(
    signed_in: bool,
    ascending: bool,
    *,
    pinned: bool,
    exclude_replies: bool,
    originals_only: bool,
    only_media: bool,
    tagged: bool,
) -> Select[Status]:
    """A page of an account's statuses, built once per shape of the request (building the
    visibility rule's tree and its cache key cost more CPU than running it)."""
    account = bindparam("account_id", type_=IdType)
    query = select(Status).where(Status.account_id == account, access.READABLE[signed_in])
    if pinned:
        query = query.join(
            StatusPin, (StatusPin.status_id == Status.id) & (StatusPin.account_id == account)
        )
    if exclude_replies:
        query = query.where(
            or_(Status.in_reply_to_id.is_(None), Status.in_reply_to_account_id == account)
        )
    if originals_only:
        query = query.where(Status.reblog_of_id.is_(None))
    if only_media:
        query = query.where(Status.has_media.is_(True))
    if tagged:
        query = query.join(StatusTag, StatusTag.status_id == Status.id).join(
            Tag, (Tag.id == StatusTag.tag_id) & (Tag.name_key == bindparam("tag"))
        )
    return bounded(query, Status.id, ascending=ascending)


async def marked_statuses(
    session: AsyncSession, viewer_id: int, model: type[Bookmark] | type[Favourite], page: Page
) -> list[tuple[int, Status]]:
    """The viewer's bookmarks or favourites, paginated by the mark's own id."""
    statement = _marked_statement(model, page.ascending)
    values = {**access.viewer_values(viewer_id), **page.bound}
    rows = [(row[0], row[1]) for row in (await session.execute(statement, values)).all()]
    return page.newest_first(rows)


@functools.cache
def _marked_statement(
    model: type[Bookmark] | type[Favourite], ascending: bool
) -> Select[int, Status]:
    """Built once per kind of mark and direction, the cursor (the mark's id) bound."""
    statement = (
        select(model.id, Status)
        .join(Status, Status.id == model.status_id)
        .where(model.account_id == access.VIEWER, access.READABLE[True])
    )
    return bounded(statement, model.id, ascending=ascending)


# Aliases made once, at import (a fresh one rebuilds its columns per statement); sharing
# them is safe for the reason statuses/access.py gives: each belongs to one function.
_BOOSTERS_BOOSTS = aliased(Status)
WHO_FAVOURITED, WHO_BOOSTED = "favourited", "boosted"


async def accounts_who(
    session: AsyncSession, acted: str, viewer_id: int | None, status_id: int, page: Page
) -> list[tuple[int, Account]]:
    """(row id, account) of the accounts that favourited (`WHO_FAVOURITED`) or boosted
    (`WHO_BOOSTED`) a status, paginated by the favourite's or the boost's id."""
    statement = _accounts_who(acted, viewer_id is not None, page.ascending)
    values = {**access.viewer_values(viewer_id), **page.bound, "status_id": status_id}
    rows = [(row[0], row[1]) for row in (await session.execute(statement, values)).all()]
    return page.newest_first(rows)


@functools.cache
def _accounts_who(acted: str, signed_in: bool, ascending: bool) -> Select[int, Account]:
    """Built once per act, viewer kind and direction, the status and the cursor bound. A
    boost is a status of its own: one the viewer may not read (a followers-only boost, seen
    by a non-follower) must not be revealed here either."""
    status_id = bindparam("status_id", type_=IdType)
    viewer = access.VIEWER if signed_in else None
    cursor: Any
    if acted == WHO_FAVOURITED:
        cursor, account_column = Favourite.id, Favourite.account_id
        condition = Favourite.status_id == status_id
    else:
        boost = _BOOSTERS_BOOSTS
        cursor, account_column = boost.id, boost.account_id
        condition = and_(boost.reblog_of_id == status_id, access.readable_by(viewer, boost))
    query = (
        select(cursor, Account)
        .join(Account, Account.id == account_column)
        .where(condition, Account.suspended_at.is_(None))
    )
    if viewer is not None:
        query = query.where(~access.blocked_between(viewer, Account.id))
    return bounded(query, cursor, ascending=ascending)


async def drop_interactions_by(session: AsyncSession, account_id: int, limit: int) -> int:
    """Account deletion (privacy): delete up to `limit` favourites and poll votes the
    account gave, moving the counters of exactly the rows deleted (RETURNING) in the
    caller's transaction. Returns how many rows were deleted."""
    favourites = (
        select(Favourite.id).where(Favourite.account_id == account_id).limit(limit)
    ).scalar_subquery()
    faved = list(
        await session.scalars(
            delete(Favourite).where(Favourite.id.in_(favourites)).returning(Favourite.status_id)
        )
    )
    if faved:  # one favourite per (account, status): each status loses exactly one
        await session.execute(
            update(Status)
            .where(Status.id.in_(faved))
            .values(favourites_count=Status.favourites_count - 1)
        )
    votes = (
        select(PollVote.id).where(PollVote.account_id == account_id).limit(limit)
    ).scalar_subquery()
    voted = list(
        await session.scalars(
            delete(PollVote).where(PollVote.id.in_(votes)).returning(PollVote.poll_id)
        )
    )
    per_poll: dict[int, int] = {}
    for poll_id in voted:
        per_poll[poll_id] = per_poll.get(poll_id, 0) + 1
    for poll_id, choices in per_poll.items():
        # A chunk may end mid-way through one poll's choices: the voter is counted off
        # with the chunk that deletes the poll's last vote of this account.
        remaining = await session.scalar(
            select(func.count())
            .select_from(PollVote)
            .where(PollVote.poll_id == poll_id, PollVote.account_id == account_id)
        )
        await session.execute(
            update(Poll)
            .where(Poll.id == poll_id)
            .values(
                votes_count=Poll.votes_count - choices,
                voters_count=Poll.voters_count - (0 if remaining else 1),
            )
        )
    return len(faved) + len(voted)


async def polls_ended_unannounced(session: AsyncSession, before: datetime, limit: int) -> list[int]:
    """Polls that ended before `before` and whose end nobody was told of yet (the sweeper's
    question), earliest end first."""
    query = (
        select(Poll.id)
        .where(Poll.ended_notified_at.is_(None), Poll.expires_at < before)
        .order_by(Poll.expires_at)
        .limit(limit)
    )
    return list(await session.scalars(query))


# --- featured tags and tag history ----------------------------------------------------------

# Ids carry their millisecond (connecthub.ids): a status id divided by this is its UTC day
# since the epoch, the same integer arithmetic on both engines, read from the index.
ID_UNITS_PER_DAY = id_for_time(86_400_000)


def _profile_statuses_with_tag(account_id: Any, tag_id: Any) -> Any:
    """The author's own public and unlisted statuses carrying the tag (what a featured tag
    counts, as Mastodon's)."""
    return (
        select(StatusTag.status_id)
        .join(Status, Status.id == StatusTag.status_id)
        .where(
            StatusTag.tag_id == tag_id,
            Status.account_id == account_id,
            Status.visibility <= Visibility.UNLISTED,
        )
    )


async def featured_tags_of(
    session: AsyncSession, account_id: int, *, only_id: int | None = None
) -> list[tuple[FeaturedTag, int, datetime | None]]:
    """The account's featured tags (or the one `only_id`) with how many of its public and
    unlisted statuses carry each and when the last was posted, most used first: one
    query."""
    tagged = _profile_statuses_with_tag(FeaturedTag.account_id, FeaturedTag.tag_id)
    count = tagged.with_only_columns(func.count()).scalar_subquery().label("statuses_count")
    last = tagged.with_only_columns(func.max(Status.created_at)).scalar_subquery()
    query = (
        select(FeaturedTag, count, last)
        .where(FeaturedTag.account_id == account_id)
        .order_by(count.desc(), FeaturedTag.id)
    )
    if only_id is not None:
        query = query.where(FeaturedTag.id == only_id)
    return [(row[0], row[1], row[2]) for row in (await session.execute(query)).all()]


async def count_featured_tags(session: AsyncSession, account_id: int) -> int:
    query = select(func.count()).where(FeaturedTag.account_id == account_id)
    return int(await session.scalar(query) or 0)


async def featured_tag(session: AsyncSession, account_id: int, row_id: int) -> FeaturedTag | None:
    query = select(FeaturedTag).where(
        FeaturedTag.id == row_id, FeaturedTag.account_id == account_id
    )
    return await session.scalar(query)


async def insert_featured_tag(
    session: AsyncSession, account_id: int, tag_id: int, name: str
) -> int | None:
    """The new row's id; None when the account features the tag already (also when a
    concurrent request won the unique key)."""
    row_id = new_id()
    values = {"id": row_id, "account_id": account_id, "tag_id": tag_id, "name": name}
    return row_id if await insert_once(session, FeaturedTag, values) else None


async def most_used_tags(
    session: AsyncSession, account_id: int, *, recent: int, limit: int
) -> list[Tag]:
    """The tags most used in the account's `recent` latest statuses, leaving out those it
    features already (Mastodon's featured tag suggestions)."""
    latest = (
        select(Status.id)
        .where(Status.account_id == account_id)
        .order_by(Status.id.desc())
        .limit(recent)
        .subquery()
    )
    featured = select(FeaturedTag.tag_id).where(FeaturedTag.account_id == account_id)
    uses = func.count().label("uses")
    ranked = (
        select(StatusTag.tag_id, uses)
        .join(latest, latest.c.id == StatusTag.status_id)
        .where(StatusTag.tag_id.not_in(featured))
        .group_by(StatusTag.tag_id)
        .order_by(uses.desc(), StatusTag.tag_id)
        .limit(limit)
        .subquery()
    )
    query = (
        select(Tag).join(ranked, ranked.c.tag_id == Tag.id).order_by(ranked.c.uses.desc(), Tag.id)
    )
    return list((await session.scalars(query)).all())


# Hashtags: one by name, followed ones, their use per day


async def tag_by_name(session: AsyncSession, name: str) -> Tag | None:
    query = select(Tag).where(Tag.name_key == name.lower())
    return (await session.execute(query)).scalar_one_or_none()


async def follow_tag(session: AsyncSession, account_id: int, tag_id: int) -> bool:
    """Follow once: a repeat (or a concurrent twin) inserts nothing (False)."""
    values = {"id": new_id(), "account_id": account_id, "tag_id": tag_id, "created_at": utcnow()}
    return await insert_once(session, TagFollow, values)


async def unfollow_tag(session: AsyncSession, account_id: int, tag_id: int) -> bool:
    """False when there was no follow."""
    result = await session.execute(
        delete(TagFollow).where(TagFollow.account_id == account_id, TagFollow.tag_id == tag_id)
    )
    return bool(getattr(result, "rowcount", 0))


async def followed_tag_ids(
    session: AsyncSession, account_id: int, tag_ids: Sequence[int]
) -> set[int]:
    if not tag_ids:
        return set()
    query = select(TagFollow.tag_id).where(
        TagFollow.account_id == account_id, TagFollow.tag_id.in_(tag_ids)
    )
    return set((await session.execute(query)).scalars())


async def followed_tags(
    session: AsyncSession, account_id: int, page: Page
) -> list[tuple[int, Tag]]:
    """A page of (follow id, tag), keyset on the follow's id (Mastodon's cursor)."""
    query = (
        select(TagFollow.id, Tag)
        .join(Tag, Tag.id == TagFollow.tag_id)
        .where(TagFollow.account_id == account_id)
    )
    rows = (await session.execute(page.apply(query, TagFollow.id))).all()
    return page.newest_first([(row[0], row[1]) for row in rows])


async def tag_uses(
    session: AsyncSession, tag_ids: Sequence[int], day_starts: Sequence[int]
) -> dict[tuple[int, int], tuple[int, int]]:
    """{(tag id, day index): (statuses, distinct authors)} of statuses anyone may read
    (`readable_by(None)`: public or unlisted, by an active account) on each day; day `i`
    runs from the id `day_starts[i]` up to the previous day's start (ids are time-ordered, so
    a day is an id range and one statement counts them all)."""
    if not tag_ids or not day_starts:
        return {}
    day = case(
        *((Status.id >= start, index) for index, start in enumerate(day_starts)),
        else_=None,
    ).label("day")
    query = (
        select(StatusTag.tag_id, day, func.count(), func.count(func.distinct(Status.account_id)))
        .join(Status, Status.id == StatusTag.status_id)
        .where(
            StatusTag.tag_id.in_(tag_ids),
            StatusTag.status_id >= day_starts[-1],
            access.readable_by(None),
        )
        .group_by(StatusTag.tag_id, day)
    )
    return {
        (int(tag_id), int(index)): (int(uses), int(accounts))
        for tag_id, index, uses, accounts in (await session.execute(query)).all()
        if index is not None
    }


# Muted threads


async def mute_thread(session: AsyncSession, account_id: int, conversation_id: int) -> None:
    values = {
        "id": new_id(),
        "account_id": account_id,
        "conversation_id": conversation_id,
        "created_at": utcnow(),
    }
    await insert_once(session, ThreadMute, values)


async def unmute_thread(session: AsyncSession, account_id: int, conversation_id: int) -> None:
    await session.execute(
        delete(ThreadMute).where(
            ThreadMute.account_id == account_id, ThreadMute.conversation_id == conversation_id
        )
    )


async def refusing_direct_messages(
    session: AsyncSession, sender_id: int, recipient_ids: Sequence[int]
) -> list[str]:
    """Usernames of the recipients whose setting refuses a direct message from the sender:
    "nobody", or "followers" when the sender does not follow them."""
    follows_them = (
        select(Follow.id)
        .where(Follow.account_id == sender_id, Follow.target_account_id == User.account_id)
        .exists()
    )
    query = (
        select(Account.username)
        .join(User, User.account_id == Account.id)
        .where(
            Account.id.in_(list(recipient_ids)),
            Account.id != sender_id,
            or_(
                User.direct_messages_from == "nobody",
                and_(User.direct_messages_from == "followers", ~follows_them),
            ),
        )
        .order_by(Account.username)
    )
    return list(await session.scalars(query))


async def tag_ids_of(session: AsyncSession, status_ids: Sequence[int]) -> list[int]:
    """The hashtags these statuses use."""
    if not status_ids:
        return []
    query = select(StatusTag.tag_id).where(StatusTag.status_id.in_(list(status_ids))).distinct()
    return list(await session.scalars(query))


async def tag_ids_followed_or_featured(
    session: AsyncSession, account_id: int, limit: int
) -> list[int]:
    followed = select(TagFollow.tag_id).where(TagFollow.account_id == account_id)
    featured = select(FeaturedTag.tag_id).where(FeaturedTag.account_id == account_id)
    return list(await session.scalars(followed.union(featured).limit(limit)))


async def delete_unused_tags(
    session: AsyncSession, tag_ids: Sequence[int], *, ignoring_account_id: int
) -> int:
    """Delete those of `tag_ids` no status uses and nobody but `ignoring_account_id` (being
    erased) follows or features; how many."""
    if not tag_ids:
        return 0
    unused = [~select(StatusTag.tag_id).where(StatusTag.tag_id == Tag.id).exists()] + [
        ~select(model.tag_id)
        .where(model.tag_id == Tag.id, model.account_id != ignoring_account_id)
        .exists()
        for model in (TagFollow, FeaturedTag)
    ]
    result = await session.execute(
        delete(Tag)
        .where(Tag.id.in_(list(tag_ids)), *unused)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def drop_mentions_of(session: AsyncSession, account_id: int, limit: int) -> list[int]:
    """Delete up to `limit` mentions of the account; the ids of the statuses they were in."""
    rows = (
        await session.execute(
            select(Mention.id, Mention.status_id)
            .where(Mention.account_id == account_id)
            .limit(limit)
        )
    ).all()
    if rows:
        await session.execute(
            delete(Mention)
            .where(Mention.id.in_([row[0] for row in rows]))
            .execution_options(synchronize_session=False)
        )
    return sorted({int(row[1]) for row in rows})


# Held for review -------------------------------------------------------------------------


def _held() -> ColumnElement[bool]:
    # The partial index `ix_statuses_held` holds exactly these rows.
    return Status.held_reason.is_not(None)


async def held_status(session: AsyncSession, status_id: int) -> Status | None:
    """A held status, its row locked (PostgreSQL) for the decision on it."""
    query = select(Status).where(Status.id == status_id, _held()).with_for_update(of=Status)
    return (await session.execute(query)).scalar_one_or_none()


async def held_statuses(session: AsyncSession, account_id: int | None, page: Page) -> list[Status]:
    query = select(Status).where(_held())
    if account_id is not None:
        query = query.where(Status.account_id == account_id)
    rows = list((await session.scalars(page.apply(query, Status.id))).all())
    return page.newest_first(rows)
