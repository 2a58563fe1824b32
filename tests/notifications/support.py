"""Helpers for the notifications and conversations tests: the HTTP calls they repeat, and
running a background job's handler as the worker would."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from connecthub.infra.jobs import HANDLERS, JobContext
from tests.social_factories import auth


async def notifications(
    client: httpx.AsyncClient, token: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/notifications", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return list(response.json())


async def types_of(client: httpx.AsyncClient, token: str, **params: Any) -> list[str]:
    return [n["type"] for n in await notifications(client, token, **params)]


async def conversations(
    client: httpx.AsyncClient, token: str, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/conversations", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return list(response.json())


async def account_action(
    client: httpx.AsyncClient, token: str, account_id: int, action: str, **body: Any
) -> dict[str, Any]:
    """`POST /api/v1/accounts/:id/<action>` (follow, unfollow, block, unblock, mute, …)."""
    response = await client.post(
        f"/api/v1/accounts/{account_id}/{action}", json=body, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def status_action(
    client: httpx.AsyncClient, token: str, status_id: str, action: str
) -> dict[str, Any]:
    """`POST /api/v1/statuses/:id/<action>` (favourite, reblog, …)."""
    response = await client.post(f"/api/v1/statuses/{status_id}/{action}", headers=auth(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def set_notifications_marker(
    client: httpx.AsyncClient, token: str, last_read_id: str
) -> None:
    response = await client.post(
        "/api/v1/markers",
        json={"notifications": {"last_read_id": last_read_id}},
        headers=auth(token),
    )
    assert response.status_code == 200, response.text


async def run_job(app: FastAPI, name: str, payload: dict[str, Any]) -> None:
    """Run a registered job handler once, as a worker would (handlers are idempotent)."""
    await HANDLERS[name](
        JobContext(engines=app.state.engines, job_id=f"test:{name}", attempt=1), payload
    )
