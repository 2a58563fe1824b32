"""The first feature shipped behind a flag: hashtags in `/api/v2/search`, for the accounts
the `search_hashtags` flag is on for (docs/operations.md: a canary release)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.flags.support import admin_token, create_flag
from tests.social_factories import auth, post_status, user_with_token


async def hashtags(client: httpx.AsyncClient, token: str, q: str = "cat") -> list[str]:
    response = await client.get(
        "/api/v2/search", params={"q": q, "type": "hashtags"}, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    return [tag["name"] for tag in response.json()["hashtags"]]


async def test_hashtag_search_follows_its_flag(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    await post_status(client, alice_token, "Look #CatsOfConnectHub #cat #dogs")
    assert await hashtags(client, alice_token) == []  # no flag: the feature is off

    admin = await admin_token(app)
    canary = [
        {
            "name": "canary",
            "conditions": [
                {"attribute": "account_id", "operator": "in", "values": [str(alice.id)]}
            ],
            "value": True,
        }
    ]
    await create_flag(
        client, admin, key="search_hashtags", kind="boolean", default_value=False, rules=canary
    )
    assert await hashtags(client, alice_token) == ["cat", "CatsOfConnectHub"]
    assert await hashtags(client, alice_token, "#dog") == ["dogs"]
    assert await hashtags(client, bob_token) == []  # not in the canary

    response = await client.post("/api/v1/admin/flags/search_hashtags/kill", headers=auth(admin))
    assert response.status_code == 200
    assert await hashtags(client, alice_token) == []  # rolled back, at once
    everything = await client.get("/api/v2/search", params={"q": "cat"}, headers=auth(alice_token))
    assert everything.json()["hashtags"] == []
