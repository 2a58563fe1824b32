"""Shared helpers for the social-core tests (statuses, relationships, timelines,
notifications, conversations). Other domains may ADD functions here."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from connecthub.accounts.models import Account
from connecthub.relationships.models import Follow
from tests.factories import create_token, create_user


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def user_with_token(app: FastAPI, username: str, **options: Any) -> tuple[Account, str]:
    """A confirmed local user and a read/write/follow token for it."""
    account, _user = await create_user(app, username, **options)
    return account, await create_token(app, account.id)


async def post_status(
    client: httpx.AsyncClient, token: str, text: str = "Hello", **fields: Any
) -> dict[str, Any]:
    """`POST /api/v1/statuses` as a JSON body; asserts success and returns the Status.
    Pass `idempotency_key=` to send an `Idempotency-Key` header."""
    headers = auth(token)
    key = fields.pop("idempotency_key", None)
    if key is not None:
        headers["Idempotency-Key"] = key
    response = await client.post(
        "/api/v1/statuses", json={"status": text, **fields}, headers=headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def follow(
    app: FastAPI,
    follower_account_id: int,
    target_account_id: int,
    *,
    notify: bool = False,
    show_reblogs: bool = True,
) -> None:
    """A Follow row and both counters, written directly (for tests that need a graph; the
    relationships API is the real way in)."""
    async with app.state.engines.db.transaction() as session:
        session.add(
            Follow(
                account_id=follower_account_id,
                target_account_id=target_account_id,
                notify=notify,
                show_reblogs=show_reblogs,
            )
        )
        await session.execute(
            update(Account)
            .where(Account.id == follower_account_id)
            .values(following_count=Account.following_count + 1)
        )
        await session.execute(
            update(Account)
            .where(Account.id == target_account_id)
            .values(followers_count=Account.followers_count + 1)
        )
