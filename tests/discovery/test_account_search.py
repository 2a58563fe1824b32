"""`GET /api/v1/accounts/search`: the same account search as /api/v2/search, with
`following` / `followers`, limits, refusals and scopes."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.factories import create_token
from tests.relationships.support import act, suspend
from tests.social_factories import auth, user_with_token

SEARCH = "/api/v1/accounts/search"


async def _names(client: httpx.AsyncClient, token: str, **params: str) -> list[str]:
    response = await client.get(SEARCH, params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return [account["acct"] for account in response.json()]


async def test_search_by_username_prefix(app: FastAPI, client: httpx.AsyncClient) -> None:
    _viewer, token = await user_with_token(app, "viewer")
    for name in ("bobby", "bob", "BobCat", "alice"):
        await user_with_token(app, name)
    sally, _ = await user_with_token(app, "bobsuspended")
    await suspend(app, sally.id)

    assert await _names(client, token, q="@bob") == ["bob", "bobby", "BobCat"]
    assert await _names(client, token, q="bob", limit="1", offset="1") == ["bobby"]
    assert await _names(client, token, q="bob", resolve="true") == ["bob", "bobby", "BobCat"]
    assert await _names(client, token, q="bob@elsewhere.example") == []
    assert await _names(client, token, q="") == []  # as Mastodon: no query, no accounts
    response = await client.get(SEARCH, params={"q": "bob"}, headers=auth(token))
    assert set(response.json()[0]) >= {"id", "username", "acct", "avatar", "emojis", "fields"}


async def test_following_and_followers_narrow_the_search(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    viewer, token = await user_with_token(app, "viewer")
    sam, sam_token = await user_with_token(app, "sam")
    sara, _ = await user_with_token(app, "sara")
    await user_with_token(app, "sandy")
    await act(client, token, sam.id, "follow")
    await act(client, token, sara.id, "follow")
    await act(client, sam_token, viewer.id, "follow")

    # Ranked: the accounts one follows before the others.
    assert await _names(client, token, q="sa") == ["sam", "sara", "sandy"]
    assert await _names(client, token, q="sa", following="true") == ["sam", "sara"]
    assert await _names(client, token, q="sa", followers="true") == ["sam"]
    assert await _names(client, token, q="sa", following="false") == ["sam", "sara", "sandy"]
    # /api/v2/search takes `following` too, through the same search.
    v2 = await client.get(
        "/api/v2/search", params={"q": "sa", "following": "true"}, headers=auth(token)
    )
    assert [a["acct"] for a in v2.json()["accounts"]] == ["sam", "sara"]


async def test_search_refusals_and_scopes(app: FastAPI, client: httpx.AsyncClient) -> None:
    viewer, token = await user_with_token(app, "viewer")
    for params, field in (
        ({"q": "a", "following": "maybe"}, "following"),
        ({"q": "a", "resolve": "perhaps"}, "resolve"),
        ({"q": "a", "limit": "0"}, "limit"),
        ({"q": "a", "offset": "-1"}, "offset"),
        ({"q": "a", "limit": "lots"}, "limit"),
        ({"q": "a" * 501}, "q"),
    ):
        response = await client.get(SEARCH, params=params, headers=auth(token))
        assert response.status_code == 422, (params, response.text)
        assert field in response.json()["error"], (params, response.text)
    search_only = await create_token(app, viewer.id, scopes=frozenset({"read:search"}))
    refused = await client.get(SEARCH, params={"q": "a"}, headers=auth(search_only))
    assert refused.status_code == 403
    accounts_reader = await create_token(app, viewer.id, scopes=frozenset({"read:accounts"}))
    allowed = await client.get(SEARCH, params={"q": "a"}, headers=auth(accounts_reader))
    assert allowed.status_code == 200
    assert (await client.get(SEARCH, params={"q": "a"})).status_code == 401
