"""THE visibility rule: who may read which status. Every read path (REST, context, search,
notifications, timelines, streaming) filters through these predicates, inside its query.

- public / unlisted: anyone, signed in or not;
- private (followers-only): the author, their followers, and accounts mentioned in it;
- direct: the author and the accounts mentioned in it;
- never across a block, in either direction;
- never from a suspended author;
- a boost is readable only if the boosted status is readable too;
- a status held for review (`held_reason`, docs/status-review.md): its author alone.

Mutes are not a visibility rule (a muted account's post can still be opened): they hide
posts from the muter's timelines, notifications and search through `not_muted_by`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    DateTime,
    Select,
    and_,
    bindparam,
    exists,
    false,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.infra.db import IdType
from connecthub.relationships.models import Block, Follow, Mute
from connecthub.statuses.models import Mention, Status, Visibility

StatusTable = type[Status]


# Aliases private to the predicates below, made once: building an alias's columns costs
# ~0.4 ms of CPU, paid on every query built with a fresh one. Sharing one is safe because
# it only ever appears in the FROM of its own subquery, never of a query enclosing it, so
# no subquery can be correlated to another's use of it (the plain tables these predicates
# use at several depths, `Follow`, `Mention`, `Block`, are shared the same way).
_AUTHOR = aliased(Account)
_BOOSTED = aliased(Status)


def _author_active(status: StatusTable) -> ColumnElement[bool]:
    # An alias, so that a query which itself selects accounts (who boosted a status) does
    # not correlate this subquery with its own `accounts` and lose the author check.
    author = _AUTHOR
    return ~exists().where(author.id == status.account_id, author.suspended_at.is_not(None))


AccountColumn = ColumnElement[int] | InstrumentedAttribute[int]
# A viewer id, or a bound parameter standing for one in a statement built once and
# executed many times (timelines/repository.py), or a column when one statement asks for
# many viewers at once (the recipients of a notification).
Viewer = int | BindParameter[int] | AccountColumn
Moment = datetime | BindParameter[datetime]


def blocked_between(viewer_id: Viewer, account_id: AccountColumn) -> ColumnElement[bool]:
    """A block in either direction between the viewer and `account_id`."""
    return exists().where(
        or_(
            and_(Block.account_id == viewer_id, Block.target_account_id == account_id),
            and_(Block.account_id == account_id, Block.target_account_id == viewer_id),
        )
    )


def readable_by(viewer_id: Viewer | None, status: StatusTable = Status) -> ColumnElement[bool]:
    """SQL predicate: `viewer_id` (None = anonymous) may read the row `status`."""
    if viewer_id is None:
        return and_(
            status.visibility <= Visibility.UNLISTED,
            status.held_reason.is_(None),
            _author_active(status),
        )
    mentioned = exists().where(Mention.status_id == status.id, Mention.account_id == viewer_id)
    follows_author = exists().where(
        Follow.account_id == viewer_id, Follow.target_account_id == status.account_id
    )
    audience = or_(
        status.account_id == viewer_id,
        and_(
            status.held_reason.is_(None),
            or_(
                status.visibility <= Visibility.UNLISTED,
                and_(status.visibility == Visibility.PRIVATE, or_(follows_author, mentioned)),
                and_(status.visibility == Visibility.DIRECT, mentioned),
            ),
        ),
    )
    return and_(_author_active(status), audience, ~blocked_between(viewer_id, status.account_id))


def readable_with_boosted(viewer_id: Viewer | None) -> ColumnElement[bool]:
    """`readable_by` for `Status`, and for the status it boosts when it is a boost."""
    boosted = _BOOSTED
    boosted_readable = exists_by_key(
        boosted, boosted.id == Status.reblog_of_id, readable_by(viewer_id, boosted)
    )
    return and_(readable_by(viewer_id), or_(Status.reblog_of_id.is_(None), boosted_readable))


def exists_by_key(table: StatusTable, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """SQL predicate: a row of `table` meets `conditions` (which pin its key), as a scalar
    subquery rather than EXISTS: PostgreSQL may turn an EXISTS inside an OR into a hashed
    subplan that reads the whole statuses table once per query, where this is one
    primary-key probe per candidate row (tests/timelines/test_query_plans.py)."""
    return select(table.id).where(*conditions).limit(1).scalar_subquery().is_not(None)


def not_muted_by(
    viewer_id: Viewer | None, account_id: AccountColumn, now: Moment | None = None
) -> ColumnElement[bool]:
    """SQL predicate: the viewer has no live mute on `account_id`."""
    if viewer_id is None:
        return ~false()
    moment = utcnow() if now is None else now
    return ~exists().where(
        Mute.account_id == viewer_id,
        Mute.target_account_id == account_id,
        or_(Mute.expires_at.is_(None), Mute.expires_at > moment),
    )


# Reading statuses by id is what every status action starts with (open, favourite, boost,
# reply, context …): its statements are built once, for a viewer (`viewer_id`) and for
# nobody, with the ids bound (`status_id`, or the list `status_ids`). Building the
# predicate anew for each request, and its cache key, cost ~1.5 ms of a 3 ms status read.
VIEWER = bindparam("viewer_id", type_=IdType)  # the viewer of a statement made once
NOW = bindparam("now", type_=DateTime(timezone=True))  # the moment it judges mutes at
_ONE = bindparam("status_id", type_=IdType)
_MANY = bindparam("status_ids", type_=IdType, expanding=True)


# `readable_with_boosted` made once for a viewer (`viewer_id` bound: `viewer_values`) and
# for nobody, for the reads that add their own conditions around it (an account's statuses,
# favourites, bookmarks): building it is most of what those statements cost to build.
READABLE = {False: readable_with_boosted(None), True: readable_with_boosted(VIEWER)}
# `readable_by` alone, the same way (a thread's replies, which are never boosts).
READABLE_OWN = {False: readable_by(None), True: readable_by(VIEWER)}


def viewer_values(viewer_id: int | None) -> dict[str, Any]:
    """The values a statement using `READABLE[viewer_id is not None]` runs with."""
    return {} if viewer_id is None else {"viewer_id": viewer_id}


def _by_id(columns: Any, keys: ColumnElement[bool]) -> dict[bool, Select[Any]]:
    return {
        signed_in: select(columns).where(keys, readable) for signed_in, readable in READABLE.items()
    }


_ONE_READABLE = _by_id(Status, Status.id == _ONE)
_ONE_READABLE_LOCKED = {
    signed_in: query.with_for_update(of=Status) for signed_in, query in _ONE_READABLE.items()
}
_MANY_READABLE = _by_id(Status, Status.id.in_(_MANY))
_ONE_READABLE_ID = _by_id(Status.id, Status.id == _ONE)
_MANY_READABLE_IDS = _by_id(Status.id, Status.id.in_(_MANY))


def readable_status_query(
    viewer_id: int | None, status_id: int, *, for_update: bool = False
) -> tuple[Select[Any], dict[str, Any]]:
    """The statement (built once) reading one status the viewer may read, and its values."""
    statements = _ONE_READABLE_LOCKED if for_update else _ONE_READABLE
    return statements[viewer_id is not None], _values(viewer_id, status_id=status_id)


def readable_statuses_query(
    viewer_id: int | None, status_ids: Sequence[int]
) -> tuple[Select[Any], dict[str, Any]]:
    """The statement (built once) reading those of `status_ids` the viewer may read."""
    return _MANY_READABLE[viewer_id is not None], _values(viewer_id, status_ids=list(status_ids))


def _values(viewer_id: int | None, **ids: Any) -> dict[str, Any]:
    return {**ids, **viewer_values(viewer_id)}


async def can_read(session: AsyncSession, viewer_id: int | None, status_id: int) -> bool:
    """Whether the viewer may read one status (and what it boosts)."""
    query = _ONE_READABLE_ID[viewer_id is not None]
    values = _values(viewer_id, status_id=status_id)
    return (await session.execute(query, values)).first() is not None


async def readable_ids(
    session: AsyncSession, viewer_id: int | None, status_ids: list[int]
) -> set[int]:
    """The subset of `status_ids` the viewer may read, in one query."""
    if not status_ids:
        return set()
    query = _MANY_READABLE_IDS[viewer_id is not None]
    return set((await session.execute(query, _values(viewer_id, status_ids=status_ids))).scalars())
