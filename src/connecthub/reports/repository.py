"""All SQL of the reports domain: reports, their evidence and notes, the queue's pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

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
