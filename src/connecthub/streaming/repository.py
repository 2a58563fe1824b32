"""All SQL the streaming package needs: who may receive a status (through the social core's
access rule), list ownership, the follow graph for presence, the presence privacy flag and
conversation participants."""

from __future__ import annotations

from typing import cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    and_,
    column,
    literal,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from connecthub.accounts.models import Account
from connecthub.conversations.models import AccountConversation
from connecthub.infra.db import dialect_of, in_id_list
from connecthub.relationships.models import Block, Follow
from connecthub.statuses import access
from connecthub.statuses.models import Status

# `users.hide_presence` is added by migration 0009 and read only here, so the accounts
# model stays untouched by this extension.
_users = table("users", column("account_id"), column("hide_presence", Boolean))


async def blocked_either_way(session: AsyncSession, viewer_id: int) -> set[int]:
    query = select(Block.account_id, Block.target_account_id).where(
        or_(Block.account_id == viewer_id, Block.target_account_id == viewer_id)
    )
    rows = (await session.execute(query)).all()
    return {target if source == viewer_id else source for source, target in rows}


# Viewer ids per query: bounded well under SQLite's and asyncpg's bind-parameter limits.
_VIEWERS_PER_QUERY = 2000


# Aliases made once, at import (a fresh one rebuilds its columns per statement); sharing
# them is safe for the reason statuses/access.py gives: each belongs to one function.
_STREAM_VIEWER = aliased(Account)
_STREAM_BOOSTED = aliased(Status)


async def stream_readers(
    session: AsyncSession,
    status_id: int,
    involved_ids: frozenset[int],
    viewer_ids: list[int],
) -> set[int]:
    """Those of `viewer_ids` to whom a status event may be streamed: they may read the
    status and what it boosts (THE rule, `statuses.access`, evaluated for every viewer in
    one query), and they neither mute nor have a block with any account it involves
    (author, boosted author, mentions) — Mastodon's stream filter."""
    # access.py's predicates take the viewer as a value; here it is the column of the
    # candidate viewers, so the rule is evaluated for all of them in one statement. The
    # status and what it boosts are joined at the top level (rather than through
    # `readable_with_boosted`'s nested EXISTS) because SQL correlates a subquery with its
    # immediately enclosing query only: every predicate here sees the viewer column.
    viewer_id = cast(int, _STREAM_VIEWER.id)
    involved = [literal(a, BigInteger) for a in sorted(involved_ids)]
    conditions = [
        access.readable_by(viewer_id, Status),
        or_(Status.reblog_of_id.is_(None), access.readable_by(viewer_id, _STREAM_BOOSTED)),
        *(access.not_muted_by(viewer_id, a) for a in involved),
        *(~access.blocked_between(viewer_id, a) for a in involved),
    ]
    base = (
        select(_STREAM_VIEWER.id)
        .join(Status, Status.id == status_id)
        .outerjoin(_STREAM_BOOSTED, _STREAM_BOOSTED.id == Status.reblog_of_id)
    )
    # One array parameter on PostgreSQL: rendering 2,000 expanded placeholders cost more
    # CPU than the query.
    viewer_in = in_id_list(_STREAM_VIEWER.id, "viewers", dialect_of(session))
    readers: set[int] = set()
    for start in range(0, len(viewer_ids), _VIEWERS_PER_QUERY):
        chunk = viewer_ids[start : start + _VIEWERS_PER_QUERY]
        query = base.where(viewer_in, *conditions)
        rows = await session.execute(query, {"viewers": chunk})
        readers.update(int(i) for i in rows.scalars())
    return readers


async def follower_ids(session: AsyncSession, account_id: int) -> list[int]:
    query = select(Follow.account_id).where(Follow.target_account_id == account_id)
    return [int(i) for i in (await session.execute(query)).scalars()]


async def following_ids(session: AsyncSession, account_id: int) -> list[int]:
    query = select(Follow.target_account_id).where(Follow.account_id == account_id)
    return [int(i) for i in (await session.execute(query)).scalars()]


async def hidden_among(session: AsyncSession, account_ids: list[int]) -> set[int]:
    """Those of `account_ids` whose owner hides their presence."""
    if not account_ids:
        return set()
    query = select(_users.c.account_id).where(
        _users.c.account_id.in_(account_ids), _users.c.hide_presence.is_(True)
    )
    return {int(i) for i in (await session.execute(query)).scalars()}


async def set_hide_presence(session: AsyncSession, account_id: int, hidden: bool) -> None:
    await session.execute(
        update(_users).where(_users.c.account_id == account_id).values(hide_presence=hidden)
    )


async def conversation_view(
    session: AsyncSession, account_id: int, view_id: int
) -> AccountConversation | None:
    """The caller's own view of a conversation (the Conversation entity's id)."""
    query = select(AccountConversation).where(
        AccountConversation.id == view_id, AccountConversation.account_id == account_id
    )
    return (await session.execute(query)).scalar_one_or_none()


async def other_views(
    session: AsyncSession, conversation_id: int, account_ids: list[int]
) -> dict[int, int]:
    """account id -> that participant's view id of the same conversation."""
    if not account_ids:
        return {}
    query = select(AccountConversation.account_id, AccountConversation.id).where(
        and_(
            AccountConversation.conversation_id == conversation_id,
            AccountConversation.account_id.in_(account_ids),
        )
    )
    return {int(a): int(v) for a, v in (await session.execute(query)).all()}


async def views_of(session: AsyncSession, conversation_id: int) -> dict[int, int]:
    """Every participant's view id of a conversation."""
    query = select(AccountConversation.account_id, AccountConversation.id).where(
        AccountConversation.conversation_id == conversation_id
    )
    return {int(a): int(v) for a, v in (await session.execute(query)).all()}
