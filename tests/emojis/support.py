"""Helpers for the custom emoji tests: an admin, and adding an emoji through the admin API."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from connecthub.accounts.models import Role
from tests.admin.support import staff
from tests.media.files import png
from tests.social_factories import auth


async def admin(app: FastAPI, username: str = "boss") -> str:
    """An admin's token with the admin scopes."""
    _account, token = await staff(app, username, Role.ADMIN)
    return token


async def add_emoji(
    client: httpx.AsyncClient,
    token: str,
    shortcode: str,
    data: bytes | None = None,
    *,
    content_type: str = "image/png",
    **fields: str,
) -> httpx.Response:
    files = {"image": (f"{shortcode}.png", data if data is not None else png(), content_type)}
    return await client.post(
        "/api/v1/admin/custom_emojis",
        headers=auth(token),
        files=files,
        data={"shortcode": shortcode, **fields},
    )


async def added(client: httpx.AsyncClient, token: str, shortcode: str, **kw: Any) -> dict[str, Any]:
    response = await add_emoji(client, token, shortcode, **kw)
    assert response.status_code == 200, response.text
    return dict(response.json())
