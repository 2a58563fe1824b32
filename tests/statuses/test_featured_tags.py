"""Featured hashtags: `/api/v1/featured_tags` (+ `suggestions`) and
`/api/v1/accounts/:id/featured_tags` — counts, limits, refusals, scopes, privacy."""

from __future__ import annotations

import time

from fastapi import FastAPI
from httpx import AsyncClient

from connecthub.statuses.models import FeaturedTag
from tests.factories import create_token
from tests.privacy.support import ask_deletion, count, wait_erased
from tests.relationships.support import suspend
from tests.social_factories import auth, post_status, user_with_token

FEATURED = "/api/v1/featured_tags"


async def _feature(client: AsyncClient, token: str, name: str) -> dict[str, object]:
    response = await client.post(FEATURED, data={"name": name}, headers=auth(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_featured_tags_count_public_and_unlisted_posts(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    await post_status(client, token, "Morning #Coffee")
    last = await post_status(client, token, "More #coffee", visibility="unlisted")
    await post_status(client, token, "Secret #coffee", visibility="private")
    await post_status(client, bob_token, "Mine too #coffee")  # someone else's

    created = await _feature(client, token, "#Coffee")
    assert created == {
        "id": created["id"],
        "name": "Coffee",
        "url": "http://localhost:8000/@alice/tagged/coffee",
        "statuses_count": "2",
        "last_status_at": last["created_at"][:10],
    }
    empty = await _feature(client, token, "tea")  # a tag nobody used yet
    assert (empty["statuses_count"], empty["last_status_at"]) == ("0", None)

    mine = await client.get(FEATURED, headers=auth(token))
    assert [t["name"] for t in mine.json()] == ["Coffee", "tea"]  # most used first
    public = await client.get(f"/api/v1/accounts/{alice.id}/featured_tags")  # no token
    assert public.json() == mine.json()
    assert (await client.get(FEATURED, headers=auth(bob_token))).json() == []

    assert (
        await client.delete(f"{FEATURED}/{empty['id']}", headers=auth(bob_token))
    ).status_code == 404
    deleted = await client.delete(f"{FEATURED}/{empty['id']}", headers=auth(token))
    assert (deleted.status_code, deleted.json()) == (200, {})
    assert (
        await client.delete(f"{FEATURED}/{empty['id']}", headers=auth(token))
    ).status_code == 404
    assert [t["name"] for t in (await client.get(FEATURED, headers=auth(token))).json()] == [
        "Coffee"
    ]


async def test_feature_refusals(app: FastAPI, client: AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    for body in ({}, {"name": ""}, {"name": "123"}, {"name": "two words"}, {"name": "x" * 129}):
        response = await client.post(FEATURED, data=body, headers=auth(token))
        assert response.status_code == 422, (body, response.text)
        assert "name" in response.json()["error"]
    await _feature(client, token, "cats")
    again = await client.post(FEATURED, data={"name": "CATS"}, headers=auth(token))
    assert again.status_code == 422
    assert "name" in again.json()["error"]
    for n in range(9):
        await _feature(client, token, f"topic{n}")
    eleventh = await client.post(FEATURED, data={"name": "onemore"}, headers=auth(token))
    assert eleventh.status_code == 422
    assert "10" in eleventh.json()["error"]
    assert len((await client.get(FEATURED, headers=auth(token))).json()) == 10


async def test_featured_tag_scopes(app: FastAPI, client: AsyncClient) -> None:
    alice, _token = await user_with_token(app, "alice")
    reader = await create_token(app, alice.id, scopes=frozenset({"read:accounts"}))
    writer = await create_token(app, alice.id, scopes=frozenset({"write:accounts"}))
    statuses = await create_token(app, alice.id, scopes=frozenset({"read:statuses"}))
    assert (
        await client.post(FEATURED, data={"name": "a1"}, headers=auth(reader))
    ).status_code == 403
    created = await client.post(FEATURED, data={"name": "a1"}, headers=auth(writer))
    assert created.status_code == 200
    assert (await client.get(FEATURED, headers=auth(writer))).status_code == 403
    assert (await client.get(FEATURED, headers=auth(reader))).status_code == 200
    assert (await client.get(FEATURED, headers=auth(statuses))).status_code == 403
    assert (await client.get(f"{FEATURED}/suggestions", headers=auth(statuses))).status_code == 403
    assert (await client.get(FEATURED)).status_code == 401
    row = created.json()["id"]
    assert (await client.delete(f"{FEATURED}/{row}", headers=auth(reader))).status_code == 403


async def test_suggestions_are_my_most_used_tags_with_history(
    app: FastAPI, client: AsyncClient
) -> None:
    _alice, token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    for text in ("#rust and #python", "#python again", "#python #go", "just #go"):
        await post_status(client, token, text)
    await post_status(client, bob_token, "#elixir #elixir")
    await _feature(client, token, "go")

    response = await client.get(f"{FEATURED}/suggestions", headers=auth(token))
    assert response.status_code == 200, response.text
    tags = response.json()
    assert [t["name"] for t in tags] == ["python", "rust"]  # featured `go` left out
    python = tags[0]
    assert set(python) == {"id", "name", "url", "history", "following", "featuring"}
    assert python["url"] == "http://localhost:8000/tags/python"
    assert (python["following"], python["featuring"]) == (False, False)
    assert len(python["history"]) == 7
    today = python["history"][0]
    assert today["day"] == str(int(time.time()) // 86400 * 86400)
    assert (today["uses"], today["accounts"]) == ("3", "1")
    assert all(day["uses"] == "0" for day in python["history"][1:])
    assert (await client.get(f"{FEATURED}/suggestions", headers=auth(bob_token))).json()[0][
        "name"
    ] == "elixir"


async def test_account_featured_tags_of_missing_and_suspended(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, token = await user_with_token(app, "alice")
    await _feature(client, token, "cats")
    assert (await client.get("/api/v1/accounts/987654321/featured_tags")).status_code == 404
    await suspend(app, alice.id)
    shown = await client.get(f"/api/v1/accounts/{alice.id}/featured_tags")
    assert (shown.status_code, shown.json()) == (200, [])


async def test_erasure_removes_featured_tags(app: FastAPI, client: AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    await _feature(client, token, "cats")
    assert (await ask_deletion(client, token)).status_code == 202
    await wait_erased(app, alice.id)
    assert await count(app, FeaturedTag, FeaturedTag.account_id == alice.id) == 0
