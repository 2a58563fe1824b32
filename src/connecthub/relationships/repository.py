"""All SQL of the follow graph."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.core.pagination import Page, bounded
from connecthub.ids import new_id
from connecthub.infra import entity_cache
from connecthub.infra.db import IdType, insert_once
from connecthub.relationships.models import (
    AccountDomainBlock,
    AccountNote,
    AccountPin,
    Block,
    Follow,
    FollowRequest,
    Mute,
)

EdgeModel = type[Follow] | type[FollowRequest] | type[Block] | type[Mute]


async def edge(session: AsyncSession, model: Any, account_id: int, target_id: int) -> Any:
    query = select(model).where(
        model.account_id == account_id, model.target_account_id == target_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def insert_edge(session: AsyncSession, row: Follow | FollowRequest | Block | Mute) -> bool:
    """Insert one edge; False when it already exists (also when a concurrent request won)."""
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def delete_edge(session: AsyncSession, model: Any, account_id: int, target_id: int) -> bool:
    result = await session.execute(
        delete(model).where(model.account_id == account_id, model.target_account_id == target_id)
    )
    return bool(getattr(result, "rowcount", 0))


async def bump_follow_counts(
    session: AsyncSession, follower_id: int, target_id: int, by: int
) -> None:
    """Atomic counter updates, in the same transaction as the edge change.

    The two rows are updated in id order: two accounts following each other at the same
    moment would otherwise each lock its own row first and wait for the other's (a deadlock
    PostgreSQL breaks by failing one of the follows)."""
    changes: dict[int, dict[str, Any]] = {follower_id: {}, target_id: {}}
    changes[follower_id]["following_count"] = Account.following_count + by
    changes[target_id]["followers_count"] = Account.followers_count + by
    for account_id in sorted(changes):
        statement = update(Account).where(Account.id == account_id).values(changes[account_id])
        await session.execute(statement.execution_options(**entity_cache.COUNTS_ONLY))


async def live_account(session: AsyncSession, account_id: int) -> Account | None:
    query = select(Account).where(Account.id == account_id, Account.suspended_at.is_(None))
    return (await session.execute(query)).scalar_one_or_none()


async def blocked_either_way(session: AsyncSession, a: int, b: int) -> bool:
    query = select(Block.id).where(
        or_(
            and_(Block.account_id == a, Block.target_account_id == b),
            and_(Block.account_id == b, Block.target_account_id == a),
        )
    )
    return (await session.execute(query.limit(1))).first() is not None


async def follow_checks(session: AsyncSession, actor_id: int, target_id: int) -> tuple[bool, bool]:
    """Before a follow, in one round trip: whether a block stands between the two (either
    way), and whether moderators limited the actor (whose follows are then requests)."""
    blocked = exists().where(
        or_(
            and_(Block.account_id == actor_id, Block.target_account_id == target_id),
            and_(Block.account_id == target_id, Block.target_account_id == actor_id),
        )
    )
    limited = exists().where(Account.id == actor_id, Account.silenced_at.is_not(None))
    row = (await session.execute(select(blocked, limited))).one()
    return bool(row[0]), bool(row[1])


# The Relationship entity's reads (relationships/serializers.py), built once: for each
# account asked about, the viewer's follow and mute rows (their options), and in one more
# statement every other mark between the two — building the nine statements anew was most
# of a relationships answer's CPU (4.6 ms for one account on SQLite).
_VIEWER = bindparam("viewer", type_=IdType)
_ASKED = bindparam("asked", type_=IdType, expanding=True)
_FOLLOWS_FROM = select(Follow).where(
    Follow.account_id == _VIEWER, Follow.target_account_id.in_(_ASKED)
)
_MUTES_FROM = select(Mute).where(Mute.account_id == _VIEWER, Mute.target_account_id.in_(_ASKED))


def _marks() -> Any:
    def mark(kind: str, column: Any, condition: ColumnElement[bool]) -> Any:
        return select(column.label("account_id"), literal(kind).label("kind"), null()).where(
            condition
        )

    def outgoing(kind: str, model: Any) -> Any:
        asked = model.target_account_id
        return mark(kind, asked, and_(model.account_id == _VIEWER, asked.in_(_ASKED)))

    def incoming(kind: str, model: Any) -> Any:
        asked = model.account_id
        return mark(kind, asked, and_(model.target_account_id == _VIEWER, asked.in_(_ASKED)))

    note = AccountNote.target_account_id
    return union_all(
        outgoing("requested", FollowRequest),
        outgoing("blocking", Block),
        outgoing("endorsed", AccountPin),
        incoming("followed_by", Follow),
        incoming("blocked_by", Block),
        incoming("requested_by", FollowRequest),
        select(note, literal("note"), AccountNote.comment).where(
            AccountNote.account_id == _VIEWER, note.in_(_ASKED)
        ),
    )


_MARKS = _marks()


@dataclass
class RelationshipRows:
    """What the viewer's Relationship with each asked account is made of."""

    follows: dict[int, Follow]
    mutes: dict[int, Mute]
    marks: dict[str, set[int]]  # requested, blocking, endorsed, followed_by, blocked_by …
    notes: dict[int, str]


async def relationship_rows(
    session: AsyncSession, viewer_id: int, account_ids: Sequence[int]
) -> RelationshipRows:
    values = {"viewer": viewer_id, "asked": list(account_ids)}
    follows = (await session.execute(_FOLLOWS_FROM, values)).scalars()
    mutes = (await session.execute(_MUTES_FROM, values)).scalars()
    rows = RelationshipRows(
        follows={row.target_account_id: row for row in follows},
        mutes={row.target_account_id: row for row in mutes},
        marks={},
        notes={},
    )
    for account_id, kind, comment in (await session.execute(_MARKS, values)).all():
        if kind == "note":
            rows.notes[account_id] = comment
        else:
            rows.marks.setdefault(kind, set()).add(account_id)
    return rows


async def accounts_page(
    session: AsyncSession,
    model: Any,
    page: Page,
    *,
    owner_column: Any,
    listed_column: Any,
    owner_id: int,
) -> list[tuple[int, Account]]:
    """(edge id, account) pairs of one page, newest edge first; suspended accounts left out."""
    statement = _accounts_page(model, owner_column, listed_column, page.ascending)
    rows = (await session.execute(statement, {"owner": owner_id, **page.bound})).all()
    return [(row[0], row[1]) for row in page.newest_first(list(rows))]


@functools.cache
def _accounts_page(
    model: Any, owner_column: Any, listed_column: Any, ascending: bool
) -> Select[int, Account]:
    """Built once per edge (the model's class attributes, the same objects every call) and
    direction, the owner and the page's cursor bound."""
    statement = (
        select(model.id, Account)
        .join(Account, Account.id == listed_column)
        .where(owner_column == bindparam("owner", type_=IdType), Account.suspended_at.is_(None))
    )
    return bounded(statement, model.id, ascending=ascending)


async def familiar_followers(
    session: AsyncSession, viewer_id: int, account_ids: Sequence[int], limit: int = 40
) -> dict[int, list[Account]]:
    """For each of `account_ids`, up to `limit` accounts the viewer follows that follow it
    (newest follow first): one query, ranked per account, whatever the number of ids."""
    mine = select(Follow.target_account_id).where(Follow.account_id == viewer_id)
    rank = func.row_number().over(partition_by=Follow.target_account_id, order_by=Follow.id.desc())
    ranked = (
        select(
            Follow.target_account_id.label("for_id"),
            Follow.account_id.label("follower_id"),
            rank.label("rank"),
        )
        .join(Account, Account.id == Follow.account_id)
        .where(
            Follow.target_account_id.in_(account_ids),
            Follow.account_id.in_(mine),
            Account.suspended_at.is_(None),
        )
        .subquery()
    )
    query = (
        select(ranked.c.for_id, Account)
        .join(Account, Account.id == ranked.c.follower_id)
        .where(ranked.c.rank <= limit)
        .order_by(ranked.c.for_id, ranked.c.rank)
    )
    found: dict[int, list[Account]] = {account_id: [] for account_id in account_ids}
    for for_id, account in (await session.execute(query)).all():
        found[for_id].append(account)
    return found


_EXISTING = {
    True: select(Account.id).where(Account.id.in_(_ASKED)),
    False: select(Account.id).where(Account.id.in_(_ASKED), Account.suspended_at.is_(None)),
}


async def existing_account_ids(
    session: AsyncSession, account_ids: Sequence[int], *, with_suspended: bool
) -> set[int]:
    query = _EXISTING[with_suspended]
    return set((await session.execute(query, {"asked": list(account_ids)})).scalars())


async def mutes_page(
    session: AsyncSession, account_id: int, page: Page, now: datetime
) -> list[tuple[Mute, Account]]:
    """One page of live (unexpired) mutes with the muted accounts, newest mute first."""
    query = (
        select(Mute, Account)
        .join(Account, Account.id == Mute.target_account_id)
        .where(
            Mute.account_id == account_id,
            Account.suspended_at.is_(None),
            or_(Mute.expires_at.is_(None), Mute.expires_at > now),
        )
    )
    rows = (await session.execute(page.apply(query, Mute.id))).all()
    return [(row[0], row[1]) for row in page.newest_first(list(rows))]


async def clear_requests_between(session: AsyncSession, a: int, b: int) -> None:
    await session.execute(
        delete(FollowRequest).where(
            or_(
                and_(FollowRequest.account_id == a, FollowRequest.target_account_id == b),
                and_(FollowRequest.account_id == b, FollowRequest.target_account_id == a),
            )
        )
    )


def mute_is_live(mute: Mute | None, now: datetime) -> bool:
    if mute is None:
        return False
    expires = mute.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=now.tzinfo)
    return expires is None or expires > now


async def drop_follows_of(
    session: AsyncSession, account_id: int, limit: int
) -> tuple[int, list[int]]:
    """Account deletion (privacy): delete up to `limit` of the account's follows, both
    ways, and move the other accounts' counters for exactly the rows deleted (RETURNING),
    in the caller's transaction. Returns how many were deleted, and the followers among
    them."""
    chunk = (
        select(Follow.id)
        .where(or_(Follow.account_id == account_id, Follow.target_account_id == account_id))
        .limit(limit)
    )
    deleted = (
        await session.execute(
            delete(Follow)
            .where(Follow.id.in_(chunk.scalar_subquery()))
            .returning(Follow.account_id, Follow.target_account_id)
        )
    ).all()
    followed = [target for follower, target in deleted if follower == account_id]
    followers = [follower for follower, target in deleted if target == account_id]
    if followed:
        await session.execute(
            update(Account)
            .where(Account.id.in_(followed))
            .values(followers_count=Account.followers_count - 1)
        )
    if followers:
        await session.execute(
            update(Account)
            .where(Account.id.in_(followers))
            .values(following_count=Account.following_count - 1)
        )
    return len(deleted), followers


async def set_note(session: AsyncSession, account_id: int, target_id: int, comment: str) -> None:
    """Write the account's note about the target, replacing any earlier one: one statement
    when there was none (`insert_once`), two when there was."""
    values = {"account_id": account_id, "target_account_id": target_id, "comment": comment}
    if await insert_once(session, AccountNote, {"id": new_id(), **values}):
        return
    await session.execute(
        update(AccountNote)
        .where(AccountNote.account_id == account_id, AccountNote.target_account_id == target_id)
        .values(comment=comment, updated_at=utcnow())
    )


async def add_pin(session: AsyncSession, account_id: int, target_id: int) -> None:
    """Endorse the target; nothing when it is endorsed already."""
    values = {"id": new_id(), "account_id": account_id, "target_account_id": target_id}
    await insert_once(session, AccountPin, values)


async def domain_block(
    session: AsyncSession, account_id: int, domain: str
) -> AccountDomainBlock | None:
    return await session.scalar(
        select(AccountDomainBlock).where(
            AccountDomainBlock.account_id == account_id, AccountDomainBlock.domain == domain
        )
    )


async def delete_domain_block(session: AsyncSession, account_id: int, domain: str) -> None:
    await session.execute(
        delete(AccountDomainBlock).where(
            AccountDomainBlock.account_id == account_id, AccountDomainBlock.domain == domain
        )
    )


async def domain_blocks_page(
    session: AsyncSession, account_id: int, page: Page
) -> list[AccountDomainBlock]:
    query = select(AccountDomainBlock).where(AccountDomainBlock.account_id == account_id)
    rows = (await session.scalars(page.apply(query, AccountDomainBlock.id))).all()
    return page.newest_first(list(rows))
