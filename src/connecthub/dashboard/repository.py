"""All SQL of the dashboard: figures per UTC day (or month) over a window of days, read from
the tables that hold them (users, statuses, favourites, media). Every query groups by
`infra/db.utc_period`, so one statement answers a whole window on both engines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, distinct, func, or_, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import User
from connecthub.infra import db
from connecthub.media.models import MediaAttachment
from connecthub.reports.models import Report
from connecthub.statuses.models import Favourite, Status, StatusTag


async def _by_day(
    session: AsyncSession, query: Select[Any], moment: Any, start: datetime, end: datetime
) -> dict[str, int]:
    """`query` (a count) per UTC day of `moment`, for moments in [start, end)."""
    day = db.utc_period(moment, db.dialect_of(session), "day")
    grouped = query.add_columns(day.label("day")).where(moment >= start, moment < end)
    rows = (await session.execute(grouped.group_by(day))).all()
    return {str(row.day): int(row[0]) for row in rows}


async def opened_reports(session: AsyncSession, start: datetime, end: datetime) -> dict[str, int]:
    return await _by_day(session, select(func.count()), Report.created_at, start, end)


async def resolved_reports(session: AsyncSession, start: datetime, end: datetime) -> dict[str, int]:
    return await _by_day(session, select(func.count()), Report.action_taken_at, start, end)


async def new_users(session: AsyncSession, start: datetime, end: datetime) -> dict[str, int]:
    return await _by_day(session, select(func.count()), User.created_at, start, end)


def _interactions() -> Any:
    """Favourites, boosts and replies, each with when it happened: Mastodon's interactions."""
    favourites = select(Favourite.created_at.label("at"))
    boosts_and_replies = select(Status.created_at.label("at")).where(
        or_(Status.reblog_of_id.is_not(None), Status.in_reply_to_id.is_not(None))
    )
    return union_all(favourites, boosts_and_replies).subquery("interactions")


async def interactions(session: AsyncSession, start: datetime, end: datetime) -> dict[str, int]:
    done = _interactions()
    return await _by_day(session, select(func.count()).select_from(done), done.c.at, start, end)


def _activity() -> Any:
    """Who did something, and when: posted, favourited, or signed in (ConnectHub keeps the
    last sign-in of each user, not each one)."""
    return union_all(
        select(Status.account_id.label("account_id"), Status.created_at.label("at")),
        select(Favourite.account_id, Favourite.created_at),
        select(User.account_id, User.last_sign_in_at).where(User.last_sign_in_at.is_not(None)),
    ).subquery("activity")


async def active_users(
    session: AsyncSession, start: datetime, end: datetime
) -> tuple[int, dict[str, int]]:
    """Distinct active accounts in the whole window, and per day."""
    active = _activity()
    count = select(func.count(distinct(active.c.account_id))).select_from(active)
    total = await session.scalar(count.where(active.c.at >= start, active.c.at < end))
    return int(total or 0), await _by_day(session, count, active.c.at, start, end)


async def user_locales(
    session: AsyncSession, start: datetime, end: datetime, limit: int
) -> list[tuple[str, int]]:
    """The locales of users who signed in within the window, most common first."""
    query = (
        select(User.locale, func.count())
        .where(User.last_sign_in_at >= start, User.last_sign_in_at < end)
        .group_by(User.locale)
        .order_by(func.count().desc(), User.locale)
        .limit(limit)
    )
    return [(str(locale), int(count)) for locale, count in (await session.execute(query)).all()]


async def status_languages(
    session: AsyncSession, start: datetime, end: datetime, limit: int
) -> list[tuple[str, int]]:
    """The languages of statuses posted within the window (boosts aside), most used first."""
    query = (
        select(Status.language, func.count())
        .where(
            Status.created_at >= start,
            Status.created_at < end,
            Status.reblog_of_id.is_(None),
            Status.language.is_not(None),
        )
        .group_by(Status.language)
        .order_by(func.count().desc(), Status.language)
        .limit(limit)
    )
    return [(str(code), int(count)) for code, count in (await session.execute(query)).all()]


async def database_version(session: AsyncSession) -> tuple[str, str]:
    """The database engine's name and version."""
    if db.dialect_of(session) == "postgresql":
        return "postgresql", str(await session.scalar(text("SHOW server_version")))
    return "sqlite", str(await session.scalar(select(func.sqlite_version())))


async def database_bytes(session: AsyncSession) -> tuple[str, int]:
    """The database's size on disk, by engine."""
    if db.dialect_of(session) == "postgresql":
        size = await session.scalar(select(func.pg_database_size(func.current_database())))
        return "postgresql", int(size or 0)
    pages = await session.scalar(text("PRAGMA page_count"))
    page_size = await session.scalar(text("PRAGMA page_size"))
    return "sqlite", int(pages or 0) * int(page_size or 0)


async def media_bytes(session: AsyncSession) -> int:
    total = await session.scalar(select(func.coalesce(func.sum(MediaAttachment.stored_bytes), 0)))
    return int(total or 0)


async def cohorts(
    session: AsyncSession, start: datetime, end: datetime, frequency: str
) -> list[tuple[str, str | None, int]]:
    """Users who signed up within the window, counted by sign-up period and the period of
    their last sign-in (None: never signed in)."""
    dialect = db.dialect_of(session)
    joined = db.utc_period(User.created_at, dialect, frequency).label("joined")
    seen = db.utc_period(User.last_sign_in_at, dialect, frequency).label("seen")
    query = (
        select(joined, seen, func.count())
        .where(and_(User.created_at >= start, User.created_at < end))
        .group_by(joined, seen)
    )
    rows = (await session.execute(query)).all()
    return [(str(j), None if s is None else str(s), int(c)) for j, s, c in rows]


async def tag_uses(
    session: AsyncSession, tag_id: int, start: datetime, end: datetime, *, accounts: bool
) -> tuple[int, dict[str, int]]:
    """Statuses with the hashtag (or, `accounts`, distinct accounts posting them) in the
    window, and per day."""
    counted = func.count(distinct(Status.account_id)) if accounts else func.count()
    query = (
        select(counted)
        .select_from(StatusTag)
        .join(Status, Status.id == StatusTag.status_id)
        .where(StatusTag.tag_id == tag_id)
    )
    in_window = query.where(Status.created_at >= start, Status.created_at < end)
    total = int(await session.scalar(in_window) or 0)
    return total, await _by_day(session, query, Status.created_at, start, end)
