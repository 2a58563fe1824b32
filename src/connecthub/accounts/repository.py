"""All SQL of the accounts domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account, OAuthToken, User, WebSession
from connecthub.clock import utcnow
from connecthub.oauth.identity import TokenInfo
from connecthub.oauth.scopes import parse_scopes


async def find_live_token(session: AsyncSession, token_hash: str) -> TokenInfo | None:
    row = (
        await session.execute(
            select(
                OAuthToken,
                User.role,
                User.disabled,
                Account.suspended_at,
                User.confirmed_at,
                User.approved,
            )
            .outerjoin(Account, Account.id == OAuthToken.account_id)
            .outerjoin(User, User.account_id == OAuthToken.account_id)
            .where(OAuthToken.token_hash == token_hash, OAuthToken.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        return None
    token, role, disabled, suspended_at, confirmed_at, approved = row
    if token.account_id is not None and (disabled or suspended_at is not None):
        return None
    pending = None
    if token.account_id is not None and role is not None:
        if confirmed_at is None:
            pending = "Your login is missing a confirmed e-mail address"
        elif not approved:
            pending = "Your login is currently pending approval"
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
        pending=pending,
    )


async def account_by_username(session: AsyncSession, username: str) -> Account | None:
    result = await session.execute(select(Account).where(Account.username_key == username.lower()))
    return result.scalar_one_or_none()


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(select(User).where(User.email_key == email.lower()))
    return result.scalar_one_or_none()


async def claim_otp_step(session: AsyncSession, user_id: int, step: int) -> bool:
    """Record `step` as the user's last accepted TOTP step unless it (or a later one) is
    already: True for exactly one of any number of racing transactions (on PostgreSQL the
    others wait for the row, then find the condition false)."""
    result = await session.execute(
        update(User)
        .where(
            User.id == user_id,
            or_(User.otp_last_step.is_(None), User.otp_last_step < step),
        )
        .values(otp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return isinstance(result, CursorResult) and result.rowcount == 1


async def lock_user(session: AsyncSession, user: User) -> None:
    """Hold the user's row until commit and reload `user` from it: what a concurrent
    transaction committed meanwhile is seen (SQLite serialises writers already)."""
    await session.execute(
        select(User)
        .where(User.id == user.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


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


async def account_by_id(session: AsyncSession, account_id: int) -> Account | None:
    return await session.get(Account, account_id)


async def user_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def visible_account(session: AsyncSession, account_id: int) -> Account | None:
    """A local account anyone may see: not suspended."""
    result = await session.execute(
        select(Account).where(Account.id == account_id, Account.suspended_at.is_(None))
    )
    return result.scalar_one_or_none()


async def role_of_account(session: AsyncSession, account_id: int) -> str | None:
    result = await session.execute(select(User.role).where(User.account_id == account_id))
    return result.scalar_one_or_none()


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
