"""Helpers for the flag tests: an admin with admin-scoped tokens, flags made through the
admin API, evaluation through the app's OpenFeature client."""

from __future__ import annotations

import random
from typing import Any

import httpx
from fastapi import FastAPI

from connecthub.accounts.models import Role
from connecthub.flags.runtime import Features, Flags
from connecthub.ids import id_for_time
from tests.admin.support import staff
from tests.social_factories import auth


async def admin_token(app: FastAPI, username: str = "flagkeeper") -> str:
    _account, token = await staff(app, username, role=Role.ADMIN)
    return token


async def create_flag(client: httpx.AsyncClient, token: str, **document: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/admin/flags", json=document, headers=auth(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


def flags(app: FastAPI) -> Flags:
    found: Flags = app.state.flags
    return found


def features(
    app: FastAPI, account_id: int | None, role: str | None = "user", locale: str | None = None
) -> Features:
    return flags(app).features(account_id, role, locale)


def synthetic_account_ids(count: int, seed: int = 23) -> list[int]:
    """Ids as accounts made over the last two years would have (time-ordered, distinct)."""
    rng = random.Random(seed)
    now_ms = 1_790_000_000_000
    ids = {
        id_for_time(now_ms - rng.randrange(0, 2 * 365 * 86_400_000)) | rng.randrange(1 << 16)
        for _ in range(count)
    }
    while len(ids) < count:
        ids.add(id_for_time(now_ms - rng.randrange(0, 10**10)) | rng.randrange(1 << 16))
    return sorted(ids)
