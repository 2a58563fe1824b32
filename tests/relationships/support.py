"""Helpers for the relationships tests: read state back through the API."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from tests.social_factories import auth


async def account(client: httpx.AsyncClient, token: str, account_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/accounts/{account_id}", headers=auth(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def counts(client: httpx.AsyncClient, token: str, account_id: int) -> tuple[int, int]:
    """(followers_count, following_count) as the API shows them."""
    shown = await account(client, token, account_id)
    return shown["followers_count"], shown["following_count"]


async def relationship(client: httpx.AsyncClient, token: str, account_id: int) -> dict[str, Any]:
    response = await client.get(
        "/api/v1/accounts/relationships", params={"id[]": account_id}, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    [entity] = response.json()
    return dict(entity)


async def act(
    client: httpx.AsyncClient, token: str, account_id: int, action: str, **data: Any
) -> httpx.Response:
    """`POST /api/v1/accounts/:id/<action>` with a form body."""
    return await client.post(
        f"/api/v1/accounts/{account_id}/{action}", data=data, headers=auth(token)
    )


async def notification_types(client: httpx.AsyncClient, token: str) -> list[tuple[str, str]]:
    """(type, sender id) of the caller's notifications, newest first."""
    response = await client.get("/api/v1/notifications", headers=auth(token))
    assert response.status_code == 200, response.text
    return [(n["type"], n["account"]["id"]) for n in response.json()]


async def set_account(app: FastAPI, account_id: int, **values: Any) -> None:
    """Change account columns directly (locking, suspending: other issues' admin paths)."""
    async with app.state.engines.db.transaction() as session:
        await session.execute(update(Account).where(Account.id == account_id).values(**values))


async def suspend(app: FastAPI, account_id: int) -> None:
    await set_account(app, account_id, suspended_at=utcnow())


def next_link(response: httpx.Response) -> str:
    link = response.headers["link"]
    assert link.index('rel="next"') < link.index('rel="prev"'), link
    return link.split(",")[0].split(";")[0].strip().strip("<>")
