"""Search queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, case, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account
from connecthub.relationships.models import Follow
from connecthub.statuses.access import blocked_between
from connecthub.statuses.models import Tag


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _findable_by(viewer_id: int, key: str) -> ColumnElement[bool]:
    """A limited (silenced) account is left out of the prefix matches of those who do not
    follow it; its exact username still finds it (it stays reachable, as Mastodon's)."""
    follows = exists().where(Follow.account_id == viewer_id, Follow.target_account_id == Account.id)
    return or_(
        Account.silenced_at.is_(None),
        Account.id == viewer_id,
        Account.username_key == key,
        follows,
    )


async def accounts_by_username_prefix(
    session: AsyncSession,
    viewer_id: int,
    prefix: str,
    *,
    limit: int,
    offset: int,
    following: bool = False,
    followers: bool = False,
) -> Sequence[Account]:
    """Active accounts whose username starts with `prefix` (case-insensitive), the exact
    match first, leaving out any account across a block with the viewer and limited
    accounts the viewer does not follow (`_findable_by`); only those the
    viewer follows (`following`) or who follow the viewer (`followers`) when asked."""
    key = prefix.lower()
    narrowed = []
    if following:
        mine = select(Follow.target_account_id).where(Follow.account_id == viewer_id)
        narrowed.append(Account.id.in_(mine))
    if followers:
        theirs = select(Follow.account_id).where(Follow.target_account_id == viewer_id)
        narrowed.append(Account.id.in_(theirs))
    query = (
        select(Account)
        .where(
            Account.username_key.like(f"{_escape_like(key)}%", escape="\\"),
            Account.suspended_at.is_(None),
            ~blocked_between(viewer_id, Account.id),
            _findable_by(viewer_id, key),
            *narrowed,
        )
        .order_by(case((Account.username_key == key, 0), else_=1), Account.username_key)
        .limit(limit)
        .offset(offset)
    )
    return (await session.execute(query)).scalars().all()


async def tags_by_name_prefix(
    session: AsyncSession, prefix: str, *, limit: int, offset: int
) -> Sequence[Tag]:
    """Hashtags whose name starts with `prefix` (case-insensitive), the exact match first."""
    key = prefix.lower()
    query = (
        select(Tag)
        .where(Tag.name_key.like(f"{_escape_like(key)}%", escape="\\"))
        .order_by(case((Tag.name_key == key, 0), else_=1), Tag.name_key)
        .limit(limit)
        .offset(offset)
    )
    return (await session.execute(query)).scalars().all()
