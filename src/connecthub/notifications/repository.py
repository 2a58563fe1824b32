"""All SQL of notifications. Reads filter in the query: a notification whose status the
viewer may no longer read, or whose sender is now blocked (either way), muted with
notifications hidden, or suspended, is never returned."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    Boolean,
    ColumnElement,
    DateTime,
    Select,
    String,
    all_,
    and_,
    any_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from connecthub.accounts.models import Account, User
from connecthub.clock import utcnow
from connecthub.core.pagination import NO_ID_ABOVE, Page
from connecthub.infra import db
from connecthub.infra.compiled import CompiledRead
from connecthub.infra.db import IdType
from connecthub.notifications import policy
from connecthub.notifications.grouping import UNGROUPED_PREFIX, ungrouped_id
from connecthub.notifications.models import (
    Notification,
    NotificationPermission,
    NotificationPolicy,
)
from connecthub.push.models import WebPushSubscription
from connecthub.relationships.models import Follow, Mute
from connecthub.reports.models import Report
from connecthub.statuses.access import (
    AccountColumn,
    Moment,
    Viewer,
    blocked_between,
    exists_by_key,
    readable_by,
)
from connecthub.statuses.models import Mention, Status, ThreadMute, Visibility
from connecthub.timelines.models import Marker

MARKER_TIMELINE = "notifications"


@dataclass(frozen=True)
class Filters:
    """`types[]`, `exclude_types[]` and `account_id` of the notifications list."""

    types: Sequence[str] = ()
    exclude_types: Sequence[str] = ()
    account_id: int | None = None
    # Also the notifications the viewer's policy filtered (`include_filtered=true`).
    include_filtered: bool = False


@dataclass(frozen=True)
class Row:
    """One notification with its sender (and the sender's role, for the Account entity)."""

    notification: Notification
    sender: Account
    sender_role: str | None = None


def hides_notifications(
    viewer_id: Viewer | AccountColumn, sender_id: AccountColumn, now: Moment | None = None
) -> ColumnElement[bool]:
    """A live mute by the viewer on the sender that hides their notifications."""
    moment = utcnow() if now is None else now
    return exists().where(
        Mute.account_id == viewer_id,
        Mute.target_account_id == sender_id,
        Mute.hide_notifications.is_(True),
        or_(Mute.expires_at.is_(None), Mute.expires_at > moment),
    )


def _status_readable(
    viewer_id: Viewer | AccountColumn,
    status_id: ColumnElement[int] | InstrumentedAttribute[int | None],
) -> ColumnElement[bool]:
    return exists_by_key(Status, Status.id == status_id, readable_by(viewer_id, Status))


def _thread_muted(
    viewer_id: Viewer | AccountColumn,
    status_id: ColumnElement[int] | InstrumentedAttribute[int | None],
) -> ColumnElement[bool]:
    """The viewer muted the thread of the status (Mastodon's conversation mute): nothing
    about any status of it reaches them — mentions, replies, favourites, boosts, edits."""
    thread = select(Status.conversation_id).where(Status.id == status_id).scalar_subquery()
    return exists().where(ThreadMute.account_id == viewer_id, ThreadMute.conversation_id == thread)


# Aliases made once, at import (a fresh one rebuilds its columns per statement); sharing
# them is safe for the reason statuses/access.py gives: each belongs to one function.
_LIMITED = aliased(Account)


def limited_account(account_id: BindParameter[int] | AccountColumn) -> ColumnElement[bool]:
    """Whether a moderator limited (silenced) the account: the policy's `for_limited_accounts`
    (an alias of Account: `notifiable` reads its recipients from `accounts`)."""
    return exists().where(_LIMITED.id == account_id, _LIMITED.silenced_at.is_not(None))


def _replies_to_direct_post(
    recipient: BindParameter[int] | AccountColumn,
    sender: BindParameter[int],
    status: BindParameter[int],
) -> ColumnElement[bool]:
    """The status follows, in its thread, a direct post of the recipient that mentions the
    sender: a private mention that answers one (Mastodon walks the reply chain; the thread
    is the same question in one indexed probe)."""
    thread = select(Status.conversation_id).where(Status.id == status).scalar_subquery()
    earlier = Status.__table__.alias("earlier")
    return exists().where(
        earlier.c.conversation_id == thread,
        earlier.c.id < status,
        earlier.c.account_id == recipient,
        earlier.c.visibility == int(Visibility.DIRECT),
        exists().where(
            Mention.status_id == earlier.c.id,
            Mention.account_id == sender,
            Mention.silent.is_(False),
        ),
    )


def _policy_columns(
    recipient: BindParameter[int] | AccountColumn,
    sender: BindParameter[int],
    mention: bool,
) -> list[ColumnElement[Any]]:
    """What notifications/policy.decide needs, as columns of the one check: the recipient's
    choices (NULL: the default), then whether the sender was accepted, is followed, follows
    for long enough, is new, is limited, and (for a mention) sends a private mention."""
    choices = [
        select(getattr(NotificationPolicy, field))
        .where(NotificationPolicy.account_id == recipient)
        .scalar_subquery()
        for field in policy.FIELDS
    ]
    follows_for_long = exists().where(
        Follow.account_id == sender,
        Follow.target_account_id == recipient,
        Follow.created_at <= bindparam("follower_before", type_=DateTime(timezone=True)),
    )
    # An alias: `notifiable` reads its recipients from `accounts` (no correlation with them).
    senders = aliased(Account, name="sender")
    sender_is_new = exists().where(
        senders.id == sender,
        senders.created_at > bindparam("new_account_after", type_=DateTime(timezone=True)),
    )
    private_mention: ColumnElement[bool] = false()
    if mention:
        status = bindparam("status_id", type_=IdType)
        direct = exists().where(Status.id == status, Status.visibility == int(Visibility.DIRECT))
        private_mention = and_(direct, ~_replies_to_direct_post(recipient, sender, status))
    flags: list[ColumnElement[Any]] = [
        exists().where(
            NotificationPermission.account_id == recipient,
            NotificationPermission.from_account_id == sender,
        ),
        exists().where(Follow.account_id == recipient, Follow.target_account_id == sender),
        follows_for_long,
        sender_is_new,
        limited_account(sender),
        private_mention,
    ]
    columns = [*choices, *(cast(flag, Boolean) for flag in flags)]
    # Labelled: two equal columns (two `false()` placeholders) would be read as one.
    return [column.label(f"policy_{i}") for i, column in enumerate(columns)]


def _facts(row: Sequence[Any]) -> policy.Facts:
    """`_policy_columns`' values (the tail of a row) as the policy's facts."""
    count = len(policy.FIELDS)
    choices = {field: value for field, value in zip(policy.FIELDS, row[:count], strict=True)}
    permitted, following, follower, new_account, limited, private = (bool(v) for v in row[count:])
    return policy.Facts(choices, permitted, following, follower, new_account, limited, private)


def _policy_params(params: dict[str, Any]) -> dict[str, Any]:
    now = params["now"]
    params["follower_before"] = now - policy.NEW_FOLLOWER_AGE
    params["new_account_after"] = now - policy.NEW_ACCOUNT_AGE
    return params


@functools.cache
def _may_notify_statement(
    dialect: str, about_a_status: bool, grouped: bool, filterable: bool, mention: bool
) -> Select[*tuple[Any, ...]]:
    """Built once (every notification runs it; building the visibility rule cost more CPU
    than the query): recipient, sender, status and the moment are bound at execution.
    `grouped`: a second column, the newest of the recipient's group keys among
    `group_keys` (grouping.reusable_keys: one prefix, hour buckets of equal width, so the
    greatest text is the newest bucket), one index probe per key. `filterable`: then the
    notification policy's facts (`_policy_columns`)."""
    recipient = bindparam("recipient_id", type_=IdType)
    sender = bindparam("sender_id", type_=IdType)
    now = bindparam("now", type_=DateTime(timezone=True))
    conditions = [~blocked_between(recipient, sender), ~hides_notifications(recipient, sender, now)]
    if about_a_status:
        status = bindparam("status_id", type_=IdType)
        conditions += [_status_readable(recipient, status), ~_thread_muted(recipient, status)]
    previous: ColumnElement[Any] = literal(None, String)
    if grouped:
        previous = (
            select(func.max(Notification.group_key))
            .where(
                Notification.account_id == recipient,
                _among_texts(Notification.group_key, "group_keys", dialect),
            )
            .scalar_subquery()
        )
    facts = _policy_columns(recipient, sender, mention) if filterable else []
    return select(_has_push(recipient), previous, *facts).where(*conditions)


def _has_push(recipient_id: BindParameter[int] | InstrumentedAttribute[int]) -> Any:
    """Whether the recipient has a push subscription: asked in the same query, so a
    notification queues a push job only for them."""
    return exists().where(WebPushSubscription.account_id == recipient_id)


class Permit(NamedTuple):
    """`may_notify`'s yes: whether the recipient has a push subscription, their newest
    reusable group key, if any, and what the notification policy says (accept for a type
    it does not apply to)."""

    has_push: bool
    previous_group_key: str | None
    choice: policy.Choice


async def may_notify(
    session: AsyncSession,
    recipient_id: int,
    sender_id: int,
    status_id: int | None,
    group_keys: Sequence[str] = (),
    *,
    type: str,
) -> Permit | None:
    """No block either way, no notification-hiding mute, and the status (if any) readable
    by the recipient and not in a thread they muted — in one query, which also finds the
    newest of `group_keys` the recipient already has (the group a grouped notification
    joins) and the facts the recipient's notification policy decides on."""
    params = _policy_params({"recipient_id": recipient_id, "sender_id": sender_id, "now": utcnow()})
    if status_id is not None:
        params["status_id"] = status_id
    if group_keys:
        params["group_keys"] = list(group_keys)
    filterable = type in policy.FILTERABLE_TYPES
    query = _may_notify_statement(
        db.dialect_of(session),
        status_id is not None,
        bool(group_keys),
        filterable,
        filterable and type == "mention" and status_id is not None,
    )
    found = (await session.execute(query, params)).first()
    if found is None:
        return None
    choice = policy.decide(type, _facts(found[2:])) if filterable else policy.Choice.ACCEPT
    return Permit(bool(found[0]), found[1], choice)


@functools.cache
def _notifiable_statement(
    dialect: str, about_a_status: bool, filterable: bool, mention: bool
) -> Select[Any]:
    """`_may_notify_statement` for many recipients at once: the recipient is the row."""
    sender = bindparam("sender_id", type_=IdType)
    now = bindparam("now", type_=DateTime(timezone=True))
    conditions = [
        db.in_id_list(Account.id, "recipient_ids", dialect),
        ~blocked_between(sender, Account.id),
        ~hides_notifications(Account.id, sender, now),
    ]
    if about_a_status:
        status = bindparam("status_id", type_=IdType)
        conditions += [_status_readable(Account.id, status), ~_thread_muted(Account.id, status)]
    facts = _policy_columns(Account.id, sender, mention) if filterable else []
    return select(Account.id, _has_push(Account.id), *facts).where(*conditions)


class Verdict(NamedTuple):
    """`notifiable`'s yes for one recipient (a Permit without a group)."""

    recipient_id: int
    has_push: bool
    choice: policy.Choice


async def notifiable(
    session: AsyncSession,
    recipient_ids: list[int],
    sender_id: int,
    status_id: int | None,
    *,
    type: str,
) -> list[Verdict]:
    """Which of `recipient_ids` `may_notify` lets through, in one query (order kept), each
    with whether they have a push subscription and what their policy says."""
    if not recipient_ids:
        return []
    params = _policy_params(
        {"recipient_ids": recipient_ids, "sender_id": sender_id, "now": utcnow()}
    )
    if status_id is not None:
        params["status_id"] = status_id
    filterable = type in policy.FILTERABLE_TYPES
    query = _notifiable_statement(
        db.dialect_of(session),
        status_id is not None,
        filterable,
        filterable and type == "mention" and status_id is not None,
    )
    allowed: dict[int, Verdict] = {}
    for row in (await session.execute(query, params)).all():
        choice = policy.decide(type, _facts(row[2:])) if filterable else policy.Choice.ACCEPT
        allowed[int(row[0])] = Verdict(int(row[0]), bool(row[1]), choice)
    return [allowed[r] for r in recipient_ids if r in allowed]


async def insert_many_once(session: AsyncSession, notifications: list[Notification]) -> list[int]:
    """`insert_once` for many notifications in one statement: the ids that went in."""
    columns = [column.key for column in Notification.__table__.c]
    rows = [{key: getattr(n, key) for key in columns} for n in notifications]
    return [int(i) for i in await db.insert_many_once(session, Notification, rows)]


async def rows_by_id(session: AsyncSession, notification_ids: list[int]) -> list[Row]:
    """Notifications with their senders, oldest first; ids gone since are left out."""
    if not notification_ids:
        return []
    query = (
        select(Notification, Account, User.role)
        .join(Account, Account.id == Notification.from_account_id)
        .outerjoin(User, User.account_id == Account.id)
        .where(db.in_id_list(Notification.id, "ids", db.dialect_of(session)))
        .order_by(Notification.id)
    )
    rows = (await session.execute(query, {"ids": notification_ids})).all()
    return [Row(n, a, r) for n, a, r in rows]


async def insert_once(session: AsyncSession, notification: Notification) -> bool:
    """Insert under the unique key; False when the same notification already exists
    (also when a concurrent transaction inserted it first). `notification` stays out of
    the session: it is what the caller renders."""
    values = {column.key: getattr(notification, column.key) for column in Notification.__table__.c}
    return await db.insert_once(session, Notification, values)


def _visible(
    viewer_id: Viewer, now: Moment | None = None, *, include_filtered: bool = False
) -> list[ColumnElement[bool]]:
    held_back = [] if include_filtered else [Notification.filtered.is_(False)]
    return [
        Notification.account_id == viewer_id,
        *held_back,
        Account.suspended_at.is_(None),
        ~blocked_between(viewer_id, Notification.from_account_id),
        ~hides_notifications(viewer_id, Notification.from_account_id, now),
        or_(
            Notification.status_id.is_(None),
            _status_readable(viewer_id, Notification.status_id),
        ),
    ]


def _filtered(viewer_id: int, filters: Filters) -> list[ColumnElement[bool]]:
    conditions = _visible(viewer_id, include_filtered=filters.include_filtered)
    if filters.types:
        conditions.append(Notification.type.in_(list(filters.types)))
    if filters.exclude_types:
        conditions.append(Notification.type.not_in(list(filters.exclude_types)))
    if filters.account_id is not None:
        conditions.append(Notification.from_account_id == filters.account_id)
    return conditions


def _rows_query(viewer_id: int, filters: Filters) -> Select[Notification, Account, str]:
    return (
        select(Notification, Account, User.role)
        .join(Account, Account.id == Notification.from_account_id)
        .outerjoin(User, User.account_id == Account.id)
        .where(*_filtered(viewer_id, filters))
    )


def _among_texts(
    column: InstrumentedAttribute[str] | InstrumentedAttribute[str | None],
    key: str,
    dialect: str,
    *,
    negate: bool = False,
) -> ColumnElement[bool]:
    """`column [NOT] IN :key` for a list bound at execution: one array parameter on
    PostgreSQL (so the statement renders once), an expanding IN on SQLite."""
    if dialect == "postgresql":
        values = bindparam(key, type_=ARRAY(String))
        return column != all_(values) if negate else column == any_(values)
    expanding: BindParameter[str] = bindparam(key, expanding=True)
    return column.not_in(expanding) if negate else column.in_(expanding)


# Beyond every id (ids are positive 63-bit integers): an open cursor's bound.


class NotificationView(NamedTuple):
    """A notification as the list reads it (no ORM object): its sender and status are
    written from the entity cache (notifications/serializers.notification_page)."""

    id: int
    type: str
    created_at: datetime
    status_id: int | None
    from_account_id: int
    activity_id: int  # what caused it: a strike, for `moderation_warning`
    group_key: str | None


VIEW_COLUMNS = (
    Notification.id,
    Notification.type,
    Notification.created_at,
    Notification.status_id,
    Notification.from_account_id,
    Notification.activity_id,
    Notification.group_key,  # last: a page of groups reads its own (_group_page_read)
)


def _page_conditions(
    dialect: str, typed: bool, excluded: bool, by_account: bool, include_filtered: bool
) -> list[ColumnElement[bool]]:
    """What a page of the list reads (v1 and grouped alike): the viewer's visible
    notifications between the cursor's bounds, with the filters' shapes bound at execution
    (`_page_params`)."""
    viewer = bindparam("viewer_id", type_=IdType)
    conditions = [
        *_visible(
            viewer,
            bindparam("now", type_=DateTime(timezone=True)),
            include_filtered=include_filtered,
        ),
        Notification.id < bindparam("below", type_=IdType),
        Notification.id > bindparam("above", type_=IdType),
    ]
    if typed:
        conditions.append(_among_texts(Notification.type, "types", dialect))
    if excluded:
        conditions.append(_among_texts(Notification.type, "exclude_types", dialect, negate=True))
    if by_account:
        conditions.append(Notification.from_account_id == bindparam("account_id", type_=IdType))
    return conditions


def _page_params(viewer_id: int, filters: Filters, page: Page) -> dict[str, Any]:
    return {
        "viewer_id": viewer_id,
        "now": utcnow(),
        **page.bound,
        "types": list(filters.types),
        "exclude_types": list(filters.exclude_types),
        "account_id": filters.account_id,
    }


@functools.cache
def _page_read(
    dialect: str,
    ascending: bool,
    typed: bool,
    excluded: bool,
    by_account: bool,
    include_filtered: bool,
) -> CompiledRead:
    """One page's notifications, for each shape of the filters: the visibility predicates
    are built and rendered once, not on every read (infra/compiled.py)."""
    order = Notification.id.asc() if ascending else Notification.id.desc()
    return CompiledRead(
        select(*VIEW_COLUMNS)
        .join(Account, Account.id == Notification.from_account_id)
        .where(*_page_conditions(dialect, typed, excluded, by_account, include_filtered))
        .order_by(order)
        .limit(bindparam("limit"))
    )


async def page_views(
    session: AsyncSession, viewer_id: int, filters: Filters, page: Page
) -> list[NotificationView]:
    """One page, newest first, through a compiled statement: no session transaction on
    PostgreSQL (infra/compiled.py)."""
    read = _page_read(
        db.dialect_of(session),
        page.ascending,
        bool(filters.types),
        bool(filters.exclude_types),
        filters.account_id is not None,
        filters.include_filtered,
    )
    rows = await read.rows(session, _page_params(viewer_id, filters, page))
    return page.newest_first([NotificationView(*row) for row in rows])


def _effective_group_key(dialect: str) -> ColumnElement[str]:
    """The key a read groups by: the stored one for the types in `:grouped_types`, else
    `ungrouped-<id>` (grouping.ungrouped_key, in SQL)."""
    ungrouped = literal_column(f"'{UNGROUPED_PREFIX}'", String) + cast(Notification.id, String)
    return case(
        (
            and_(
                Notification.group_key.is_not(None),
                _among_texts(Notification.type, "grouped_types", dialect),
            ),
            Notification.group_key,
        ),
        else_=ungrouped,
    )


@functools.cache
def _group_page_read(
    dialect: str,
    ascending: bool,
    typed: bool,
    excluded: bool,
    by_account: bool,
    include_filtered: bool,
) -> CompiledRead:
    """A page of groups: of the notifications the v1 page would read, the first of each
    group in reading order (the newest of each, or the oldest after `min_id`), up to
    `:limit` groups. One statement: a window over the page's range, so its cost grows with
    the notifications in that range, never with the number of groups."""
    key = _effective_group_key(dialect)
    order = Notification.id.asc() if ascending else Notification.id.desc()
    ranked = (
        select(
            *VIEW_COLUMNS[:-1],
            key.label("group_key"),
            func.row_number().over(partition_by=key, order_by=order).label("rank"),
        )
        .join(Account, Account.id == Notification.from_account_id)
        .where(*_page_conditions(dialect, typed, excluded, by_account, include_filtered))
        .subquery("ranked")
    )
    columns = [ranked.c[column.key] for column in VIEW_COLUMNS]
    return CompiledRead(
        select(*columns)
        .where(ranked.c.rank == 1)
        .order_by(ranked.c.id.asc() if ascending else ranked.c.id.desc())
        .limit(bindparam("limit"))
    )


async def group_page_views(
    session: AsyncSession,
    viewer_id: int,
    filters: Filters,
    grouped_types: Sequence[str],
    page: Page,
) -> list[NotificationView]:
    """One page of groups, newest first: each group's notification that stands for it,
    with the group's key (the stored one when its type is in `grouped_types`)."""
    read = _group_page_read(
        db.dialect_of(session),
        page.ascending,
        bool(filters.types),
        bool(filters.exclude_types),
        filters.account_id is not None,
        filters.include_filtered,
    )
    params = _page_params(viewer_id, filters, page)
    params["grouped_types"] = list(grouped_types)
    rows = await read.rows(session, params)
    return page.newest_first([NotificationView(*row) for row in rows])


class GroupMember(NamedTuple):
    """One of a group's newest notifications (`rank` 1 is the newest), with the group's
    figures: its size and the oldest of its ids at or after the page's start."""

    group_key: str
    id: int
    from_account_id: int
    created_at: datetime
    rank: int
    size: int
    page_min_id: int | None


@functools.cache
def _group_members_read(dialect: str, sample_size: int) -> CompiledRead:
    key = Notification.group_key
    newest_first = Notification.id.desc()
    in_page = case((Notification.id >= bindparam("begin", type_=IdType), Notification.id))
    ranked = (
        select(
            key,
            Notification.id,
            Notification.from_account_id,
            Notification.created_at,
            func.row_number().over(partition_by=key, order_by=newest_first).label("rank"),
            func.count().over(partition_by=key).label("size"),
            func.min(in_page).over(partition_by=key).label("page_min_id"),
        )
        .join(Account, Account.id == Notification.from_account_id)
        .where(
            *_visible(
                bindparam("viewer_id", type_=IdType),
                bindparam("now", type_=DateTime(timezone=True)),
            ),
            _among_texts(Notification.group_key, "keys", dialect),
            Notification.id <= bindparam("end", type_=IdType),
        )
        .subquery("ranked")
    )
    return CompiledRead(
        select(ranked)
        .where(ranked.c.rank <= sample_size)
        .order_by(ranked.c.group_key, ranked.c.rank)
    )


async def group_members(
    session: AsyncSession,
    viewer_id: int,
    group_keys: Sequence[str],
    sample_size: int,
    begin: int = 0,
    end: int = NO_ID_ABOVE,
) -> list[GroupMember]:
    """For each of the stored `group_keys`, in one statement: its `sample_size` newest
    visible notifications with ids up to `end`, each row carrying the group's count (up to
    `end`) and its oldest id from `begin` on."""
    if not group_keys:
        return []
    params = {
        "viewer_id": viewer_id,
        "now": utcnow(),
        "keys": list(group_keys),
        "begin": begin,
        "end": end,
    }
    rows = await _group_members_read(db.dialect_of(session), sample_size).rows(session, params)
    return [GroupMember(*row) for row in rows]


def _in_group(group_key: str) -> ColumnElement[bool]:
    """The notifications a group key names: one by id for `ungrouped-<id>`."""
    notification_id = ungrouped_id(group_key)
    if notification_id is not None:
        return Notification.id == notification_id
    return Notification.group_key == group_key


async def newest_in_group(
    session: AsyncSession, viewer_id: int, group_key: str
) -> NotificationView | None:
    """The newest visible notification of a group (its key as stored), or None."""
    query = (
        select(*VIEW_COLUMNS)
        .join(Account, Account.id == Notification.from_account_id)
        .where(*_filtered(viewer_id, Filters()), _in_group(group_key))
        .order_by(Notification.id.desc())
        .limit(1)
    )
    found = (await session.execute(query)).first()
    return NotificationView(*found) if found else None


async def group_rows(
    session: AsyncSession, viewer_id: int, group_key: str, page: Page
) -> list[Row]:
    """A page of a group's visible notifications with their senders, newest first."""
    query = page.apply(
        _rows_query(viewer_id, Filters()).where(_in_group(group_key)), Notification.id
    )
    rows = (await session.execute(query)).all()
    return page.newest_first([Row(n, a, r) for n, a, r in rows])


async def dismiss_group(session: AsyncSession, viewer_id: int, group_key: str) -> None:
    await session.execute(
        delete(Notification).where(Notification.account_id == viewer_id, _in_group(group_key))
    )


async def one(session: AsyncSession, viewer_id: int, notification_id: int) -> Row | None:
    # One notification by id is shown even when the policy filtered it, as Mastodon's.
    query = _rows_query(viewer_id, Filters(include_filtered=True)).where(
        Notification.id == notification_id
    )
    found = (await session.execute(query)).first()
    return Row(found[0], found[1], found[2]) if found else None


async def sender_row(session: AsyncSession, notification: Notification) -> Row:
    query = (
        select(Account, User.role)
        .outerjoin(User, User.account_id == Account.id)
        .where(Account.id == notification.from_account_id)
    )
    account, role = (await session.execute(query)).one()
    return Row(notification, account, role)


async def activity_ids(session: AsyncSession, notification_ids: list[int]) -> dict[int, int]:
    query = select(Notification.id, Notification.activity_id).where(
        Notification.id.in_(notification_ids)
    )
    return {int(i): int(a) for i, a in await session.execute(query)}


async def reports_by_id(
    session: AsyncSession, report_ids: set[int]
) -> list[tuple[Report, Account, str | None]]:
    """Reports with their target accounts (and the targets' roles)."""
    if not report_ids:
        return []
    query = (
        select(Report, Account, User.role)
        .join(Account, Account.id == Report.target_account_id)
        .outerjoin(User, User.account_id == Account.id)
        .where(Report.id.in_(report_ids))
    )
    return [(report, account, role) for report, account, role in await session.execute(query)]


async def statuses_by_id(session: AsyncSession, status_ids: set[int]) -> dict[int, Status]:
    if not status_ids:
        return {}
    rows = await session.scalars(select(Status).where(Status.id.in_(status_ids)))
    return {status.id: status for status in rows}


async def dismiss(session: AsyncSession, viewer_id: int, notification_id: int) -> bool:
    result = await session.execute(
        delete(Notification).where(
            Notification.account_id == viewer_id, Notification.id == notification_id
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def clear(session: AsyncSession, viewer_id: int) -> None:
    await session.execute(delete(Notification).where(Notification.account_id == viewer_id))


async def last_read_id(session: AsyncSession, viewer_id: int) -> int:
    query = select(Marker.last_read_id).where(
        Marker.account_id == viewer_id, Marker.timeline == MARKER_TIMELINE
    )
    return int((await session.execute(query)).scalar_one_or_none() or 0)


async def count_after(
    session: AsyncSession, viewer_id: int, filters: Filters, after_id: int, limit: int
) -> int:
    """Visible notifications newer than `after_id`, counting at most `limit`."""
    bounded = (
        select(Notification.id)
        .join(Account, Account.id == Notification.from_account_id)
        .where(*_filtered(viewer_id, filters), Notification.id > after_id)
        .order_by(Notification.id.desc())
        .limit(limit)
        .subquery()
    )
    query = select(func.count()).select_from(bounded)
    return int((await session.execute(query)).scalar_one())


async def count_groups_after(
    session: AsyncSession,
    viewer_id: int,
    filters: Filters,
    grouped_types: Sequence[str],
    after_id: int,
    limit: int,
) -> int:
    """Groups with a visible notification newer than `after_id`, counting at most `limit`."""
    key = _effective_group_key(db.dialect_of(session))
    bounded = (
        select(key.label("group_key"))
        .join(Account, Account.id == Notification.from_account_id)
        .where(*_filtered(viewer_id, filters), Notification.id > after_id)
        .distinct()
        .limit(limit)
        .subquery()
    )
    query = select(func.count()).select_from(bounded)
    params = {"grouped_types": list(grouped_types)}
    return int((await session.execute(query, params)).scalar_one())
