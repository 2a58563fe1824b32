"""All SQL about browser sign-in sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account, User, WebSession
from connecthub.clock import utcnow


def add_web_session(session: AsyncSession, web_session: WebSession) -> None:
    session.add(web_session)


async def live_web_session(
    session: AsyncSession, secret_hash: str, not_before: datetime
) -> tuple[WebSession, User, Account] | None:
    """The unrevoked session with this hash, made after `not_before`, of a usable account."""
    row = (
        await session.execute(
            select(WebSession, User, Account)
            .join(User, User.id == WebSession.user_id)
            .join(Account, Account.id == User.account_id)
            .where(
                WebSession.secret_hash == secret_hash,
                WebSession.revoked_at.is_(None),
                WebSession.created_at > not_before,
                Account.suspended_at.is_(None),
                User.disabled.is_(False),
            )
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


async def revoke_web_sessions(
    session: AsyncSession, user_id: int, *, only_hash: str | None = None, keep_id: int | None = None
) -> None:
    conditions = [WebSession.user_id == user_id, WebSession.revoked_at.is_(None)]
    if only_hash is not None:
        conditions.append(WebSession.secret_hash == only_hash)
    if keep_id is not None:
        conditions.append(WebSession.id != keep_id)
    await session.execute(update(WebSession).where(*conditions).values(revoked_at=utcnow()))
