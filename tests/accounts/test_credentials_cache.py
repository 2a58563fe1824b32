"""verify_credentials answers from the entity cache in distributed mode (ADR 0014): what
changes the caller's account or user row shows on the very next read."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from connecthub.accounts import service as accounts
from connecthub.accounts.models import Role
from tests.social_factories import auth, post_status, user_with_token

ME = "/api/v1/accounts/verify_credentials"


async def _me(client: httpx.AsyncClient, token: str) -> dict[str, object]:
    response = await client.get(ME, headers=auth(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_changes_to_the_account_and_its_user_show_on_the_next_read(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account, token = await user_with_token(app, "carol")
    first = await _me(client, token)
    assert first == await _me(client, token)  # the second one from the cache, the same
    assert first["statuses_count"] == 0

    await post_status(client, token, "first post")  # a counter bumped by an UPDATE
    assert (await _me(client, token))["statuses_count"] == 1

    updated = await client.patch(
        "/api/v1/accounts/update_credentials",
        data={"display_name": "Carol C.", "source[privacy]": "unlisted"},
        headers=auth(token),
    )
    assert updated.status_code == 200, updated.text
    after = await _me(client, token)
    assert after["display_name"] == "Carol C."
    assert after["source"]["privacy"] == "unlisted"  # type: ignore[index]

    async with app.state.engines.db.transaction() as session:  # the users row alone
        await accounts.grant_role(session, "carol", Role.MODERATOR)
    assert (await _me(client, token))["role"]["name"] == "Moderator"  # type: ignore[index]
    del account


async def test_an_unknown_token_is_refused_before_any_cache(client: httpx.AsyncClient) -> None:
    response = await client.get(ME, headers=auth("not-a-token"))
    assert response.status_code == 401
