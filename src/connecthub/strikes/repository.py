"""All SQL of strikes and appeals."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account, User
from connecthub.core.pagination import Page
from connecthub.strikes.models import AccountWarning, Appeal

StrikeRow = tuple[AccountWarning, Appeal | None]


def _with_appeal() -> Any:
    return select(AccountWarning, Appeal).outerjoin(
        Appeal, Appeal.account_warning_id == AccountWarning.id
    )


async def strikes_page(session: AsyncSession, account_id: int, page: Page) -> list[StrikeRow]:
    query = _with_appeal().where(AccountWarning.target_account_id == account_id)
    rows = (await session.execute(page.apply(query, AccountWarning.id))).all()
    return page.newest_first([(row[0], row[1]) for row in rows])


async def strike(
    session: AsyncSession, strike_id: int, *, for_update: bool = False
) -> StrikeRow | None:
    query = _with_appeal().where(AccountWarning.id == strike_id)
    if for_update:
        query = query.with_for_update(of=AccountWarning)
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row is not None else None


async def strikes_by_id(session: AsyncSession, ids: Iterable[int]) -> list[StrikeRow]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = await session.execute(_with_appeal().where(AccountWarning.id.in_(wanted)))
    return [(row[0], row[1]) for row in rows]


async def accounts_with_roles(
    session: AsyncSession, ids: Iterable[int]
) -> dict[int, tuple[Account, str | None]]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = (
        select(Account, User.role)
        .outerjoin(User, User.account_id == Account.id)
        .where(Account.id.in_(wanted))
    )
    return {row[0].id: (row[0], row[1]) for row in await session.execute(query)}


async def appeals_page(
    session: AsyncSession, page: Page, *, pending_only: bool
) -> list[tuple[Appeal, AccountWarning]]:
    query: Any = select(Appeal, AccountWarning).join(
        AccountWarning, AccountWarning.id == Appeal.account_warning_id
    )
    if pending_only:
        query = query.where(Appeal.approved_at.is_(None), Appeal.rejected_at.is_(None))
    rows = (await session.execute(page.apply(query, Appeal.id))).all()
    return page.newest_first([(row[0], row[1]) for row in rows])


async def appeal(
    session: AsyncSession, appeal_id: int, *, for_update: bool = False
) -> tuple[Appeal, AccountWarning] | None:
    query = (
        select(Appeal, AccountWarning)
        .join(AccountWarning, AccountWarning.id == Appeal.account_warning_id)
        .where(Appeal.id == appeal_id)
    )
    if for_update:
        query = query.with_for_update(of=Appeal)
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row is not None else None


async def account_with_user(
    session: AsyncSession, account_id: int
) -> tuple[Account, User | None] | None:
    """The struck account with its login, locked for an appeal's decision."""
    query = (
        select(Account, User)
        .outerjoin(User, User.account_id == Account.id)
        .where(Account.id == account_id)
        .with_for_update(of=Account)
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row is not None else None
