"""Helpers for the scheduled statuses tests: scheduling through the API, moving a row's
time where the API may not (into the past), and reading what was posted."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update

from connecthub.clock import utcnow
from connecthub.scheduled.models import ScheduledStatus
from connecthub.statuses.models import Status
from tests.social_factories import auth

SCHEDULED = "/api/v1/scheduled_statuses"


def ahead(seconds: float = 600) -> str:
    return (utcnow() + timedelta(seconds=seconds)).isoformat()


async def schedule(
    client: httpx.AsyncClient,
    token: str,
    text: str = "Later",
    *,
    when: str | None = None,
    key: str | None = None,
    **fields: Any,
) -> httpx.Response:
    headers = auth(token)
    if key is not None:
        headers["Idempotency-Key"] = key
    body = {"status": text, "scheduled_at": when or ahead(), **fields}
    return await client.post("/api/v1/statuses", json=body, headers=headers)


async def make_due(app: FastAPI, scheduled_id: int | str, when: datetime | None = None) -> None:
    """Move the row's time into the past (the API refuses that), as if time had passed."""
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            update(ScheduledStatus)
            .where(ScheduledStatus.id == int(scheduled_id))
            .values(scheduled_at=when or utcnow() - timedelta(seconds=1))
        )


async def statuses_of(app: FastAPI, account_id: int) -> list[Status]:
    async with app.state.engines.db.session() as session:
        query = select(Status).where(Status.account_id == account_id).order_by(Status.id)
        return list(await session.scalars(query))


async def scheduled_count(app: FastAPI, account_id: int) -> int:
    async with app.state.engines.db.session() as session:
        query = select(func.count()).where(ScheduledStatus.account_id == account_id)
        return int((await session.execute(query)).scalar_one())


async def wait_posted(app: FastAPI, account_id: int, count: int = 1, seconds: float = 60) -> None:
    """Until the account has `count` statuses (a deadline for the job, not a timing)."""
    for _ in range(int(seconds * 10)):
        if len(await statuses_of(app, account_id)) >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"account {account_id} has no {count} statuses after {seconds}s")
