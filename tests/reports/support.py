"""Helpers for the report tests: filing reports through the API and through the system
service function, and moderators with report-scoped tokens."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from connecthub.accounts.models import Account, Role
from connecthub.infra.uow import UnitOfWork
from connecthub.reports import service
from connecthub.reports.models import Report, ReportedStatus
from tests.factories import create_token, create_user
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


REPORT_SCOPES = frozenset({"read", "write", "admin:read:reports", "admin:write:reports"})


async def moderator(
    app: FastAPI, username: str, role: Role = Role.MODERATOR
) -> tuple[Account, str]:
    """A moderator (or admin) with the report scopes."""
    account, _ = await create_user(app, username, role=role)
    return account, await create_token(app, account.id, scopes=REPORT_SCOPES)


async def admin_get(client: httpx.AsyncClient, token: str, path: str = "", **params: Any) -> Any:
    response = await client.get(f"/api/v1/admin/reports{path}", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


async def admin_post(
    client: httpx.AsyncClient, token: str, report_id: int | str, verb: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/admin/reports/{report_id}/{verb}", json=body, headers=auth(token)
    )


async def filed(client: httpx.AsyncClient, token: str, account_id: int, **fields: Any) -> Any:
    response = await report(client, token, account_id, **fields)
    assert response.status_code == 200, response.text
    return response.json()
