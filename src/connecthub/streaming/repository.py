"""All SQL the streaming package needs: relationship sets for filtering, list ownership,
the follow graph for presence, the presence privacy flag and conversation participants."""

from __future__ import annotations

from sqlalchemy import Boolean, and_, column, or_, select, table, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.clock import utcnow
from connecthub.conversations.models import AccountConversation
from connecthub.relationships.models import Block, Follow, Mute
from connecthub.timelines.models import List

# `users.hide_presence` is added by migration 0009 and read only here, so the accounts
# model stays untouched by this extension.
_users = table("users", column("account_id"), column("hide_presence", Boolean))


async def blocked_either_way(session: AsyncSession, viewer_id: int) -> set[int]:
    query = select(Block.account_id, Block.target_account_id).where(
        or_(Block.account_id == viewer_id, Block.target_account_id == viewer_id)
    )
    rows = (await session.execute(query)).all()
    return {target if source == viewer_id else source for source, target in rows}


async def viewers_hiding(session: AsyncSession, account_ids: frozenset[int]) -> set[int]:
    """Accounts that must not see content involving `account_ids`: those who block them,
    are blocked by them, or mute them (live mutes only). Indexed on both engines."""
    ids = sorted(account_ids)
    query = union(
        select(Block.account_id.label("viewer")).where(Block.target_account_id.in_(ids)),
        select(Block.target_account_id).where(Block.account_id.in_(ids)),
        select(Mute.account_id).where(
            Mute.target_account_id.in_(ids),
            or_(Mute.expires_at.is_(None), Mute.expires_at > utcnow()),
        ),
    )
    return {int(i) for i in (await session.execute(query)).scalars()}


async def list_owner(session: AsyncSession, list_id: int) -> int | None:
    owner = await session.scalar(select(List.account_id).where(List.id == list_id))
    return int(owner) if owner is not None else None


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
