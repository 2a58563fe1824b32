"""All SQL of the reports domain: reports, their evidence and notes, the queue's pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account, User
from connecthub.core.pagination import Page
from connecthub.reports.models import Report, ReportedStatus, ReportNote
from connecthub.reports.schemas import ReportFilter


async def by_id(
    session: AsyncSession, report_id: int, *, for_update: bool = False
) -> Report | None:
    query = select(Report).where(Report.id == report_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def _conditions(filters: ReportFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        Report.action_taken_at.is_not(None)
        if filters.resolved
        else Report.action_taken_at.is_(None)
    ]
    if filters.account_id is not None:
        conditions.append(Report.account_id == filters.account_id)
    if filters.target_account_id is not None:
        conditions.append(Report.target_account_id == filters.target_account_id)
    return conditions


async def page(session: AsyncSession, filters: ReportFilter, page: Page) -> list[Report]:
    query: Any = select(Report).where(*_conditions(filters))
    rows = list((await session.scalars(page.apply(query, Report.id))).all())
    return page.newest_first(rows)


async def evidence(
    session: AsyncSession, report_ids: Sequence[int]
) -> dict[int, list[ReportedStatus]]:
    """Each report's reported statuses as kept, in the order they were reported."""
    found: dict[int, list[ReportedStatus]] = {report_id: [] for report_id in report_ids}
    if not report_ids:
        return found
    query = (
        select(ReportedStatus)
        .where(ReportedStatus.report_id.in_(list(report_ids)))
        .order_by(ReportedStatus.report_id, ReportedStatus.position)
    )
    for row in await session.scalars(query):
        found[row.report_id].append(row)
    return found


async def reported_status(
    session: AsyncSession, report_id: int, status_id: int
) -> ReportedStatus | None:
    query = select(ReportedStatus).where(
        ReportedStatus.report_id == report_id, ReportedStatus.status_id == status_id
    )
    return (await session.execute(query)).scalars().first()


async def notes(session: AsyncSession, report_id: int) -> list[ReportNote]:
    query = select(ReportNote).where(ReportNote.report_id == report_id).order_by(ReportNote.id)
    return list(await session.scalars(query))


async def note(session: AsyncSession, report_id: int, note_id: int) -> ReportNote | None:
    query = select(ReportNote).where(ReportNote.report_id == report_id, ReportNote.id == note_id)
    return (await session.execute(query)).scalar_one_or_none()


async def account_ids_with_roles(session: AsyncSession, roles: Sequence[str]) -> list[int]:
    """Active (not suspended, not disabled) accounts holding one of `roles`."""
    query = (
        select(Account.id)
        .join(User, User.account_id == Account.id)
        .where(User.role.in_(list(roles)), User.disabled.is_(False))
        .where(Account.suspended_at.is_(None))
        .order_by(Account.id)
    )
    return list(await session.scalars(query))


async def ids_naming(session: AsyncSession, account_id: int, limit: int) -> list[int]:
    """Up to `limit` reports the account filed or that are about it."""
    query = (
        select(Report.id)
        .where(or_(Report.account_id == account_id, Report.target_account_id == account_id))
        .order_by(Report.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def delete_reports(session: AsyncSession, report_ids: Sequence[int]) -> None:
    """The reports with their evidence and notes (these go by cascade on PostgreSQL; here
    for SQLite, whose foreign keys may be off)."""
    if not report_ids:
        return
    ids = list(report_ids)
    await session.execute(delete(ReportedStatus).where(ReportedStatus.report_id.in_(ids)))
    await session.execute(delete(ReportNote).where(ReportNote.report_id.in_(ids)))
    await session.execute(delete(Report).where(Report.id.in_(ids)))
