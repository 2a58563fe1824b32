"""The audit log's reads (its one writer is infra/audit_trail.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.audit.schemas import AuditFilter
from connecthub.core.pagination import Page
from connecthub.infra.audit_trail import AuditLogRow


async def page_of(session: AsyncSession, filters: AuditFilter, page: Page) -> list[AuditLogRow]:
    statement = select(AuditLogRow)
    if filters.action is not None:
        statement = statement.where(AuditLogRow.action == filters.action)
    if filters.account_id is not None:
        statement = statement.where(AuditLogRow.actor_account_id == filters.account_id)
    if filters.target_type is not None:
        statement = statement.where(AuditLogRow.target_type == filters.target_type)
    if filters.target_id is not None:
        statement = statement.where(AuditLogRow.target_id == filters.target_id)
    if filters.since is not None:
        statement = statement.where(AuditLogRow.created_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(AuditLogRow.created_at < filters.until)
    rows = (await session.scalars(page.apply(statement, AuditLogRow.id))).all()
    return page.newest_first(list(rows))
