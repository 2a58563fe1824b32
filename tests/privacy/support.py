"""Helpers for the privacy tests: asking for a deletion through the API, waiting for the
erasure job, running it by hand, and counting what rows are left."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from connecthub.infra.jobs import HANDLERS, JobContext
from connecthub.privacy.deletion import DELETE_JOB
from connecthub.privacy.models import AccountDeletion
from tests.factories import DEFAULT_PASSWORD
from tests.social_factories import auth

DELETION = "/api/v1/connecthub/account_deletion"


async def ask_deletion(
    client: httpx.AsyncClient, token: str, password: Any = DEFAULT_PASSWORD, **fields: Any
) -> httpx.Response:
    body = {"password": password, **fields} if password is not None else dict(fields)
    return await client.post(DELETION, json=body, headers=auth(token))


async def deletion_record(app: FastAPI, account_id: int) -> AccountDeletion | None:
    async with app.state.engines.db.session() as session:
        return await session.scalar(
            select(AccountDeletion).where(AccountDeletion.account_id == account_id)
        )


async def wait_erased(app: FastAPI, account_id: int, seconds: float = 30) -> None:
    """Until the erasure job (run by the app) has written the tombstone."""
    for _ in range(int(seconds * 20)):
        record = await deletion_record(app, account_id)
        if record is not None and record.completed_at is not None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"account {account_id} was not erased in {seconds}s")


async def wait_gone(app: FastAPI, keys: list[str], seconds: float = 30) -> None:
    """Until no stored object is left under `keys` (purges run through the job queue)."""
    storage = app.state.engines.storage
    for _ in range(int(seconds * 20)):
        if all([await storage.size(key) is None for key in keys]):
            return
        await asyncio.sleep(0.05)
    left = [key for key in keys if await storage.size(key) is not None]
    raise AssertionError(f"still stored: {left}")


async def run_deletion_job(app: FastAPI, account_id: int) -> None:
    await HANDLERS[DELETE_JOB](JobContext(app.state.engines, "test", 1), {"account_id": account_id})


async def count(app: FastAPI, model: Any, *conditions: Any) -> int:
    async with app.state.engines.db.session() as session:
        query = select(func.count()).select_from(model).where(*conditions)
        return int((await session.execute(query)).scalar_one())


async def account_json(client: httpx.AsyncClient, account_id: int, token: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/accounts/{account_id}", headers=auth(token))
    assert response.status_code == 200, response.text
    return dict(response.json())
