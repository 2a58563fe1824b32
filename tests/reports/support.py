"""Helpers for the report tests: filing reports through the API and through the system
service function, and moderators with report-scoped tokens."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from connecthub.infra.uow import UnitOfWork
from connecthub.reports import service
from connecthub.reports.models import Report, ReportedStatus
from tests.social_factories import auth


async def file_system(app: FastAPI, target_id: int, status_ids: list[int], **fields: Any) -> int:
    """`service.file_system_report` in a transaction of its own, committed."""
    engines = app.state.engines
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        report_id = await service.file_system_report(
            uow,
            target_account_id=target_id,
            status_ids=status_ids,
            category=fields.get("category", "violation"),
            comment=fields.get("comment", "offensive language (score 0.97)"),
        )
        await uow.commit()
        return report_id


async def stored(app: FastAPI, report_id: int) -> tuple[Report | None, list[ReportedStatus]]:
    async with app.state.engines.db.session() as session:
        report = await session.get(Report, report_id)
        query = select(ReportedStatus).where(ReportedStatus.report_id == report_id)
        return report, list(await session.scalars(query.order_by(ReportedStatus.position)))


async def report(
    client: httpx.AsyncClient, token: str, account_id: int | str, **fields: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/reports", json={"account_id": str(account_id), **fields}, headers=auth(token)
    )
