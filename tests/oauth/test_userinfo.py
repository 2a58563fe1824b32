"""`/oauth/userinfo`: OpenID Connect claims of the token's account, as Mastodon 4.4."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.factories import create_app_token, create_token
from tests.social_factories import auth, user_with_token


async def test_userinfo_names_the_tokens_account(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    await client.patch(
        "/api/v1/accounts/update_credentials", headers=auth(token), data={"display_name": "Alice A"}
    )
    root = app.state.engines.settings.base_url
    for method in ("GET", "POST"):
        response = await client.request(method, "/oauth/userinfo", headers=auth(token))
        assert response.status_code == 200, response.text
        assert response.json() == {
            "iss": f"{root}/",
            "sub": f"{root}/users/alice",
            "name": "Alice A",
            "preferred_username": "alice",
            "profile": f"{root}/@alice",
            "picture": f"{root}/avatars/original/missing.png",
        }
    profile_only = await create_token(app, alice.id, scopes=frozenset({"profile"}))
    assert (await client.get("/oauth/userinfo", headers=auth(profile_only))).status_code == 200
    metadata = await client.get("/.well-known/oauth-authorization-server")
    assert metadata.json()["userinfo_endpoint"] == f"{root}/oauth/userinfo"


async def test_userinfo_needs_a_user_token_with_profile(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, _token = await user_with_token(app, "alice")
    statuses_only = await create_token(app, alice.id, scopes=frozenset({"write:statuses"}))
    assert (await client.get("/oauth/userinfo", headers=auth(statuses_only))).status_code == 403
    assert (await client.get("/oauth/userinfo")).status_code == 401
    assert (await client.get("/oauth/userinfo", headers=auth("nonsense"))).status_code == 401
    app_token = await create_app_token(app)
    assert (await client.get("/oauth/userinfo", headers=auth(app_token))).status_code == 401
