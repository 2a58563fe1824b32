"""All SQL of the accounts domain."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.identity import TokenInfo
from connecthub.accounts.models import Account, OAuthToken, User
from connecthub.accounts.scopes import parse_scopes
from connecthub.clock import utcnow


async def find_live_token(session: AsyncSession, token_hash: str) -> TokenInfo | None:
    row = (
        await session.execute(
            select(OAuthToken, User.role, User.disabled, Account.suspended_at)
            .outerjoin(Account, Account.id == OAuthToken.account_id)
            .outerjoin(User, User.account_id == OAuthToken.account_id)
            .where(OAuthToken.token_hash == token_hash, OAuthToken.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        return None
    token, role, disabled, suspended_at = row
    if token.account_id is not None and (disabled or suspended_at is not None):
        return None
    expires_at = token.expires_at
    if expires_at is not None and expires_at.tzinfo is None:
        # SQLite returns naive datetimes; every time we store is UTC.
        expires_at = expires_at.replace(tzinfo=utcnow().tzinfo)
    return TokenInfo(
        token_id=token.id,
        account_id=token.account_id,
        application_id=token.application_id,
        scopes=parse_scopes(token.scopes),
        expires_at=expires_at,
        role=role,
    )


async def account_by_username(session: AsyncSession, username: str) -> Account | None:
    result = await session.execute(select(Account).where(Account.username_key == username.lower()))
    return result.scalar_one_or_none()


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email_key == email.lower()))
    return result.scalar_one_or_none()


async def user_for_account(session: AsyncSession, account_id: int) -> User | None:
    result = await session.execute(select(User).where(User.account_id == account_id))
    return result.scalar_one_or_none()


async def username_taken(session: AsyncSession, username: str) -> bool:
    return await account_by_username(session, username) is not None


async def email_taken(session: AsyncSession, email: str) -> bool:
    return await user_by_email(session, email) is not None


def add_account_with_user(session: AsyncSession, account: Account, user: User) -> None:
    session.add(account)
    session.add(user)
