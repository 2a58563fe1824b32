"""Helpers for the admin tests: staff accounts with admin-scoped tokens, and calling the
admin account API."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from connecthub.accounts.models import Account, Role
from tests.factories import create_token, create_user
from tests.social_factories import auth

ADMIN_SCOPES = frozenset({"read", "write", "admin:read", "admin:write"})


async def staff(app: FastAPI, username: str, role: Role = Role.MODERATOR) -> tuple[Account, str]:
    """A moderator (or admin) and a token with the admin scopes."""
    account, _ = await create_user(app, username, role=role)
    return account, await create_token(app, account.id, scopes=ADMIN_SCOPES)


async def act(
    client: httpx.AsyncClient, token: str, account_id: int | str, kind: str, **fields: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/admin/accounts/{account_id}/action",
        json={"type": kind, **fields},
        headers=auth(token),
    )


async def admin_post(
    client: httpx.AsyncClient, token: str, account_id: int | str, verb: str
) -> httpx.Response:
    return await client.post(f"/api/v1/admin/accounts/{account_id}/{verb}", headers=auth(token))


async def admin_account(client: httpx.AsyncClient, token: str, account_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/admin/accounts/{account_id}", headers=auth(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


def audit_lines(caplog: Any) -> list[dict[str, Any]]:
    """The audit trail written so far (`caplog` set to INFO on the audit logger)."""
    from connecthub.ops.logging import AUDIT_LOGGER

    return [
        dict(record.msg)
        for record in caplog.records
        if record.name == AUDIT_LOGGER and isinstance(record.msg, dict)
    ]
