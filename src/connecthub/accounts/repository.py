"""All SQL of the accounts domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import CursorResult, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account, User

# Built once: sign-up asks both, sign-in and every lookup by name one. Built per call, each
# cost ~25 µs of building and of SQLAlchemy's cache key; a kept one's key is memoized.
_ACCOUNT_BY_USERNAME = select(Account).where(Account.username_key == bindparam("key"))
_USER_BY_EMAIL = select(User).where(User.email_key == bindparam("key"))


async def account_by_username(session: AsyncSession, username: str) -> Account | None:
    result = await session.execute(_ACCOUNT_BY_USERNAME, {"key": username.lower()})
    return result.scalar_one_or_none()


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.execute(_USER_BY_EMAIL, {"key": email.lower()})
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


async def account_with_user(session: AsyncSession, account_id: int) -> tuple[Account, User] | None:
    """A local account and its user in one query (the signed-in caller's, say)."""
    statement = select(Account, User).join(User, User.account_id == Account.id)
    row = (await session.execute(statement.where(Account.id == account_id))).one_or_none()
    return (row[0], row[1]) if row is not None else None


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


async def visible_accounts_with_roles(
    session: AsyncSession, account_ids: Sequence[int]
) -> dict[int, tuple[Account, str | None]]:
    """The accounts of `account_ids` anyone may see (not suspended), each with its user's
    role, in one query; missing ones are absent."""
    query = (
        select(Account, User.role)
        .outerjoin(User, User.account_id == Account.id)
        .where(Account.id.in_(account_ids), Account.suspended_at.is_(None))
    )
    return {row[0].id: (row[0], row[1]) for row in (await session.execute(query)).all()}
