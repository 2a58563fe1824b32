"""Hashtags through the API as a client uses them: `/api/v1/tags/:name` (seven days of use,
`following`), follow / unfollow (idempotent), `/api/v1/followed_tags` (Link pages by follow),
scopes, bad names."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi import FastAPI
from httpx import AsyncClient

from tests.factories import create_token
from tests.social_factories import auth, post_status, user_with_token


def _today() -> str:
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return str(int(midnight.timestamp()))


async def test_a_tag_shows_seven_days_of_use_by_readable_posts(
    app: FastAPI, client: AsyncClient
) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    await post_status(client, alice_token, "first #Cats")
    await post_status(client, alice_token, "again #cats")
    await post_status(client, bob_token, "me too #CATS", visibility="unlisted")
    # Posts only some may read are not counted.
    await post_status(client, bob_token, "secret #cats", visibility="private")
    await post_status(client, bob_token, "@alice psst #cats", visibility="direct")

    response = await client.get("/api/v1/tags/cAtS")  # anonymous, any case
    assert response.status_code == 200, response.text
    tag = response.json()
    assert tag["name"] == "Cats"  # as first written
    assert tag["url"] == "http://localhost:8000/tags/cats" or tag["url"].endswith("/tags/cats")
    assert re.fullmatch(r"\d+", tag["id"])
    assert "following" not in tag  # no signed-in caller
    history = tag["history"]
    assert len(history) == 7
    assert history[0] == {"day": _today(), "uses": "3", "accounts": "2"}
    days = [int(entry["day"]) for entry in history]
    assert days == [days[0] - 86400 * n for n in range(7)]
    assert all(entry["uses"] == "0" and entry["accounts"] == "0" for entry in history[1:])


async def test_an_unused_tag_is_shown_and_a_bad_name_is_not_found(
    app: FastAPI, client: AsyncClient
) -> None:
    _alice, token = await user_with_token(app, "alice")
    response = await client.get("/api/v1/tags/neverused", headers=auth(token))
    assert response.status_code == 200, response.text
    tag = response.json()
    assert tag["id"] == ""
    assert tag["name"] == "neverused"
    assert tag["following"] is False
    assert [entry["uses"] for entry in tag["history"]] == ["0"] * 7
    for bad in ("123", "no-dash", "a%20b", "x" * 129):
        response = await client.get(f"/api/v1/tags/{bad}")
        assert response.status_code == 404, bad
        assert response.json() == {"error": "Record not found"}
    response = await client.post("/api/v1/tags/123/follow", headers=auth(token))
    assert response.status_code == 404


async def test_follow_and_unfollow_are_idempotent_and_listed_with_link_pages(
    app: FastAPI, client: AsyncClient
) -> None:
    _alice, token = await user_with_token(app, "alice")
    followed = []
    for name in ("Alpha", "beta", "gamma"):
        response = await client.post(f"/api/v1/tags/{name}/follow", headers=auth(token))
        assert response.status_code == 200, response.text
        assert response.json()["following"] is True
        assert response.json()["name"] == name
        followed.append(response.json())
    again = await client.post("/api/v1/tags/alpha/follow", headers=auth(token))
    assert again.status_code == 200
    assert again.json()["id"] == followed[0]["id"]
    assert again.json()["name"] == "Alpha"  # the hashtag keeps its first spelling

    response = await client.get("/api/v1/followed_tags", headers=auth(token))
    assert response.status_code == 200
    assert [t["name"] for t in response.json()] == ["gamma", "beta", "Alpha"]  # newest first
    assert all(t["following"] is True and len(t["history"]) == 7 for t in response.json())

    first = await client.get("/api/v1/followed_tags", params={"limit": 2}, headers=auth(token))
    assert [t["name"] for t in first.json()] == ["gamma", "beta"]
    next_url = first.links["next"]["url"]
    assert "max_id=" in next_url
    second = await client.get(next_url, headers=auth(token))
    assert [t["name"] for t in second.json()] == ["Alpha"]

    response = await client.post("/api/v1/tags/BETA/unfollow", headers=auth(token))
    assert response.status_code == 200
    assert response.json()["following"] is False
    response = await client.post("/api/v1/tags/beta/unfollow", headers=auth(token))
    assert response.status_code == 200
    assert response.json()["following"] is False
    response = await client.post("/api/v1/tags/nobodyever/unfollow", headers=auth(token))
    assert response.status_code == 200
    assert response.json()["following"] is False
    names = [
        t["name"] for t in (await client.get("/api/v1/followed_tags", headers=auth(token))).json()
    ]
    assert names == ["gamma", "Alpha"]
    shown = await client.get("/api/v1/tags/alpha", headers=auth(token))
    assert shown.json()["following"] is True


async def test_followed_tags_are_private_to_their_follower(
    app: FastAPI, client: AsyncClient
) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    await client.post("/api/v1/tags/secretinterest/follow", headers=auth(alice_token))
    response = await client.get("/api/v1/followed_tags", headers=auth(bob_token))
    assert response.status_code == 200
    assert response.json() == []
    shown = await client.get("/api/v1/tags/secretinterest", headers=auth(bob_token))
    assert shown.json()["following"] is False


async def test_scopes_and_bad_input(app: FastAPI, client: AsyncClient) -> None:
    alice, _token = await user_with_token(app, "alice")
    read_only = await create_token(app, alice.id, scopes=frozenset({"read"}))
    write_statuses = await create_token(app, alice.id, scopes=frozenset({"write:statuses"}))
    granular = await create_token(
        app, alice.id, scopes=frozenset({"write:follows", "read:follows"})
    )
    assert (await client.post("/api/v1/tags/cats/follow")).status_code == 401
    assert (await client.get("/api/v1/followed_tags")).status_code == 401
    for token in (read_only, write_statuses):
        response = await client.post("/api/v1/tags/cats/follow", headers=auth(token))
        assert response.status_code == 403, response.text
        response = await client.post("/api/v1/tags/cats/unfollow", headers=auth(token))
        assert response.status_code == 403
    response = await client.get("/api/v1/followed_tags", headers=auth(write_statuses))
    assert response.status_code == 403
    assert (
        await client.post("/api/v1/tags/cats/follow", headers=auth(granular))
    ).status_code == 200
    assert (await client.get("/api/v1/followed_tags", headers=auth(read_only))).status_code == 200
    for params in ({"limit": "x"}, {"limit": "0"}, {"max_id": "abc"}):
        response = await client.get("/api/v1/followed_tags", params=params, headers=auth(granular))
        assert response.status_code == 422, params
        assert next(iter(params)) in response.json()["error"]
    many = await client.get("/api/v1/followed_tags", params={"limit": 500}, headers=auth(granular))
    assert many.status_code == 200
    assert len(many.json()) == 1
