"""`GET /api/v2/search`: accounts by username prefix, blocks and suspensions respected."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.relationships.support import act, suspend
from tests.social_factories import auth, user_with_token


async def _search(client: httpx.AsyncClient, token: str, **params: str) -> httpx.Response:
    return await client.get("/api/v2/search", params=params, headers=auth(token))


async def test_search_finds_accounts_by_username_prefix_exact_first(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _viewer, token = await user_with_token(app, "viewer")
    for name in ("bobby", "bob", "BobCat", "alice"):
        await user_with_token(app, name)

    response = await _search(client, token, q="@BOB@localhost:8000", type="accounts")

    assert response.status_code == 200, response.text
    body = response.json()
    assert [a["acct"] for a in body["accounts"]] == ["bob", "bobby", "BobCat"]
    assert (body["statuses"], body["hashtags"]) == ([], [])
    limited = await _search(client, token, q="bob", type="accounts", limit="1", offset="1")
    assert [a["acct"] for a in limited.json()["accounts"]] == ["bobby"]
    # As Mastodon: `offset` pages one type only; without `type` it is ignored.
    untyped = await _search(client, token, q="bob", limit="1", offset="1")
    assert [a["acct"] for a in untyped.json()["accounts"]] == ["bob"]


async def test_search_leaves_out_blocked_suspended_and_foreign(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    viewer, token = await user_with_token(app, "viewer")
    blocker, blocker_token = await user_with_token(app, "sam")
    blocked, _ = await user_with_token(app, "sara")
    suspended, _ = await user_with_token(app, "sally")
    await user_with_token(app, "sandy")
    assert (await act(client, blocker_token, viewer.id, "block")).status_code == 200
    assert (await act(client, token, blocked.id, "block")).status_code == 200
    await suspend(app, suspended.id)

    found = await _search(client, token, q="sa")
    elsewhere = await _search(client, token, q="sandy@example.org")
    statuses_only = await _search(client, token, q="sandy", type="statuses")

    assert [a["acct"] for a in found.json()["accounts"]] == ["sandy"]
    assert str(blocker.id) not in {a["id"] for a in found.json()["accounts"]}
    assert elsewhere.json()["accounts"] == []
    assert statuses_only.json()["accounts"] == []


async def test_search_validates_its_parameters(app: FastAPI, client: httpx.AsyncClient) -> None:
    _viewer, token = await user_with_token(app, "viewer")

    assert (await _search(client, token, q="x", type="people")).status_code == 422
    assert (await _search(client, token)).status_code == 422
    assert (await _search(client, token, q="x", account_id="abc")).status_code == 422
    assert (await _search(client, token, q="x", max_id="-1")).status_code == 422
    assert (await _search(client, token, q="x", exclude_unreviewed="maybe")).status_code == 422
