"""Detection's queries: what a job judges, and the verdicts it records."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import Account
from connecthub.detection.models import DetectionVerdict
from connecthub.infra.compiled import CompiledRead
from connecthub.infra.db import IdType, insert_once
from connecthub.statuses.models import Status


class StatusText(NamedTuple):
    account_id: int
    visibility: int
    text: str
    spoiler_text: str
    account_created_at: datetime
    held_reason: str | None


class ProfileText(NamedTuple):
    display_name: str
    note: str
    created_at: datetime


# A compiled read: the status job's only statement, run for every new status.
_STATUS_TEXT = CompiledRead(
    select(
        Status.account_id,
        Status.visibility,
        Status.text,
        Status.spoiler_text,
        Account.created_at,
        Status.held_reason,
    )
    .join(Account, Account.id == Status.account_id)
    .where(Status.id == bindparam("status_id", type_=IdType))
)


async def status_text(session: AsyncSession, status_id: int) -> StatusText | None:
    rows = await _STATUS_TEXT.rows(session, {"status_id": status_id})
    return StatusText(*rows[0]) if rows else None


async def profile_text(session: AsyncSession, account_id: int) -> ProfileText | None:
    row = (
        await session.execute(
            select(Account.display_name, Account.note, Account.created_at).where(
                Account.id == account_id
            )
        )
    ).first()
    return ProfileText(*row) if row is not None else None


async def account_created_at(session: AsyncSession, account_id: int) -> datetime | None:
    return await session.scalar(select(Account.created_at).where(Account.id == account_id))


async def insert_verdict(session: AsyncSession, values: dict[str, Any]) -> bool:
    """True when this decision is new (False: a run before already made it)."""
    return await insert_once(session, DetectionVerdict, values)


async def set_report(session: AsyncSession, verdict_id: int, report_id: int) -> None:
    await session.execute(
        update(DetectionVerdict)
        .where(DetectionVerdict.id == verdict_id)
        .values(report_id=report_id)
    )


async def verdicts_of(session: AsyncSession, account_id: int) -> list[DetectionVerdict]:
    return list(
        await session.scalars(
            select(DetectionVerdict)
            .where(DetectionVerdict.account_id == account_id)
            .order_by(DetectionVerdict.id)
        )
    )
