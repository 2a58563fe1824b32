"""All SQL behind the instance statistics. Counts only; nothing here reads private data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from connecthub.accounts.models import Account, User


@dataclass(frozen=True)
class Counts:
    users: int
    active_month: int
    active_halfyear: int
    local_posts: int


async def counts(session: AsyncSession, *, month_ago: datetime, halfyear_ago: datetime) -> Counts:
    """Users (confirmed, not suspended, as Mastodon counts them), users who signed in since
    each cut-off, and local posts, in one round trip."""
    users = (
        select(func.count())
        .select_from(User)
        .join(Account, Account.id == User.account_id)
        .where(User.confirmed_at.is_not(None), Account.suspended_at.is_(None))
        .scalar_subquery()
    )

    def signed_in_since(moment: datetime) -> ScalarSelect[int]:
        return (
            select(func.count())
            .select_from(User)
            .where(User.last_sign_in_at >= moment)
            .scalar_subquery()
        )

    # Every account with a user is local; the statuses domain keeps `statuses_count`, so
    # this sum is the local post count without reading the statuses table (as Mastodon).
    posts = (
        select(func.coalesce(func.sum(Account.statuses_count), 0))
        .select_from(Account)
        .join(User, User.account_id == Account.id)
        .scalar_subquery()
    )
    row = (
        await session.execute(
            select(users, signed_in_since(month_ago), signed_in_since(halfyear_ago), posts)
        )
    ).one()
    return Counts(
        users=int(row[0]),
        active_month=int(row[1]),
        active_halfyear=int(row[2]),
        local_posts=int(row[3]),
    )


@dataclass(frozen=True)
class WeekActivity:
    start: datetime
    registrations: int
    logins: int


async def weekly_activity(
    session: AsyncSession, week_starts: list[datetime], week: timedelta = timedelta(weeks=1)
) -> list[WeekActivity]:
    """Sign-ups and sign-ins per week, for weeks starting at `week_starts`. One table scan,
    written without date functions so both engines run it alike.

    Only each user's latest sign-in is stored, so `logins` of past weeks counts users whose
    latest sign-in fell in that week: a lower bound."""
    if not week_starts:
        return []

    def in_week(column: InstrumentedAttribute[Any], start: datetime) -> ColumnElement[int]:
        hit = case((and_(column >= start, column < start + week), 1), else_=0)
        return func.coalesce(func.sum(hit), 0)

    columns: list[ColumnElement[int]] = []
    for start in week_starts:
        columns.append(in_week(User.created_at, start))
        columns.append(in_week(User.last_sign_in_at, start))
    first = min(week_starts)
    query = select(*columns).where(or_(User.created_at >= first, User.last_sign_in_at >= first))
    row = (await session.execute(query)).one()
    return [
        WeekActivity(start=start, registrations=int(row[2 * i]), logins=int(row[2 * i + 1]))
        for i, start in enumerate(week_starts)
    ]
