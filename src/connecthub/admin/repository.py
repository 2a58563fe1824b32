"""All SQL of the admin API: an account with its login, the filtered account list, and the
addresses an account's browser sessions came from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account, OAuthToken, Role, User, WebSession
from connecthub.admin.schemas import AccountFilter, AccountStatus
from connecthub.core.pagination import Page

AccountRow = tuple[Account, User | None]


async def account_with_user(
    session: AsyncSession, account_id: int, *, for_update: bool = False
) -> AccountRow | None:
    query = (
        select(Account, User)
        .outerjoin(User, User.account_id == Account.id)
        .where(Account.id == account_id)
    )
    if for_update:
        query = query.with_for_update(of=Account)
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row is not None else None


async def accounts_with_users(
    session: AsyncSession, account_ids: Sequence[int]
) -> list[AccountRow]:
    if not account_ids:
        return []
    query = (
        select(Account, User)
        .outerjoin(User, User.account_id == Account.id)
        .where(Account.id.in_(list(account_ids)))
    )
    return [(row[0], row[1]) for row in await session.execute(query)]


def _status_condition(status: AccountStatus) -> ColumnElement[bool]:
    if status is AccountStatus.ACTIVE:
        return and_(
            Account.suspended_at.is_(None), User.disabled.is_(False), User.approved.is_(True)
        )
    if status is AccountStatus.PENDING:
        return and_(Account.suspended_at.is_(None), User.approved.is_(False))
    if status is AccountStatus.DISABLED:
        return User.disabled.is_(True)
    if status is AccountStatus.SUSPENDED:
        return Account.suspended_at.is_not(None)
    return false()  # silenced: no account can be silenced yet


def _conditions(filters: AccountFilter) -> list[ColumnElement[bool]]:
    if filters.nothing:
        return [false()]
    conditions: list[ColumnElement[bool]] = []
    if filters.status is not None:
        conditions.append(_status_condition(filters.status))
    if filters.username:
        conditions.append(
            Account.username_key.startswith(filters.username.lower(), autoescape=True)
        )
    if filters.display_name:
        conditions.append(
            func.lower(Account.display_name).contains(filters.display_name.lower(), autoescape=True)
        )
    if filters.email:
        conditions.append(User.email_key.contains(filters.email.lower(), autoescape=True))
    if filters.staff:
        conditions.append(User.role.in_([Role.MODERATOR.value, Role.ADMIN.value]))
    if filters.roles:
        conditions.append(User.role.in_(sorted(filters.roles)))
    if filters.ip:
        conditions.append(
            exists().where(WebSession.user_id == User.id, WebSession.ip == filters.ip)
            | exists().where(
                OAuthToken.account_id == Account.id, OAuthToken.last_used_ip == filters.ip
            )
        )
    return conditions


async def accounts_page(
    session: AsyncSession, filters: AccountFilter, page: Page
) -> list[AccountRow]:
    query: Any = (
        select(Account, User)
        .outerjoin(User, User.account_id == Account.id)
        .where(*_conditions(filters))
    )
    rows = (await session.execute(page.apply(query, Account.id))).all()
    return page.newest_first([(row[0], row[1]) for row in rows])


async def session_ips(
    session: AsyncSession, user_ids: Sequence[int]
) -> dict[int, list[tuple[str, datetime]]]:
    """Per user: each address its browser sessions used, with when it was last seen, most
    recent first (one query for a whole page)."""
    if not user_ids:
        return {}
    last_seen = func.max(WebSession.last_seen_at)
    query = (
        select(WebSession.user_id, WebSession.ip, last_seen)
        .where(WebSession.user_id.in_(list(user_ids)), WebSession.ip.is_not(None))
        .group_by(WebSession.user_id, WebSession.ip)
        .order_by(WebSession.user_id, last_seen.desc())
    )
    found: dict[int, list[tuple[str, datetime]]] = {}
    for user_id, ip, used_at in await session.execute(query):
        found.setdefault(user_id, []).append((str(ip), used_at))
    return found
