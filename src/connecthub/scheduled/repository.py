"""All SQL of scheduled statuses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.core.pagination import Page
from connecthub.scheduled.models import ScheduledStatus


async def owned(
    session: AsyncSession, account_id: int, scheduled_id: int, *, for_update: bool = False
) -> ScheduledStatus | None:
    query = select(ScheduledStatus).where(
        ScheduledStatus.id == scheduled_id, ScheduledStatus.account_id == account_id
    )
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def page_of(session: AsyncSession, account_id: int, page: Page) -> list[ScheduledStatus]:
    query = page.apply(
        select(ScheduledStatus).where(ScheduledStatus.account_id == account_id),
        ScheduledStatus.id,
    )
    return page.newest_first(list(await session.scalars(query)))


async def count_pending(
    session: AsyncSession,
    account_id: int,
    *,
    between: tuple[datetime, datetime] | None = None,
    excluding: int | None = None,
) -> int:
    """The account's scheduled statuses (due in [start, end) when `between` is given),
    `excluding` one of them."""
    query = select(func.count()).where(ScheduledStatus.account_id == account_id)
    if between is not None:
        query = query.where(
            ScheduledStatus.scheduled_at >= between[0], ScheduledStatus.scheduled_at < between[1]
        )
    if excluding is not None:
        query = query.where(ScheduledStatus.id != excluding)
    return int((await session.execute(query)).scalar_one())


async def claim_due(
    session: AsyncSession, scheduled_id: int, now: datetime
) -> tuple[int, dict[str, Any]] | None:
    """Take the row if it is due: deleted in the caller's transaction, so one transaction
    alone gets it (a concurrent one waits for it, then finds nothing) and a rollback gives
    it back. Its (account id, params); None when it is gone or not due yet. Its media
    lose their hold by the foreign key (SET NULL), in the same statement."""
    statement = (
        delete(ScheduledStatus)
        .where(ScheduledStatus.id == scheduled_id, ScheduledStatus.scheduled_at <= now)
        .returning(ScheduledStatus.account_id, ScheduledStatus.params)
        .execution_options(synchronize_session=False)
    )
    row = (await session.execute(statement)).first()
    return None if row is None else (int(row[0]), dict(row[1]))


async def delete_row(session: AsyncSession, scheduled_id: int) -> None:
    await session.execute(delete(ScheduledStatus).where(ScheduledStatus.id == scheduled_id))


async def due_before(
    session: AsyncSession, cutoff: datetime, limit: int
) -> list[tuple[int, datetime]]:
    """Rows due before `cutoff` (id, scheduled_at), oldest first: the sweeper's question."""
    query = (
        select(ScheduledStatus.id, ScheduledStatus.scheduled_at)
        .where(ScheduledStatus.scheduled_at < cutoff)
        .order_by(ScheduledStatus.scheduled_at)
        .limit(limit)
    )
    return [(row.id, row.scheduled_at) for row in await session.execute(query)]
