"""Favourites, boosts, bookmarks, pins, polls and the lists built on them."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.social_factories import auth, follow, post_status, user_with_token


async def test_favourite_and_lists(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    statuses = [await post_status(client, token, f"post {i}") for i in range(3)]
    for status in statuses:
        for _ in range(2):  # a second favourite changes nothing
            fav = await client.post(
                f"/api/v1/statuses/{status['id']}/favourite", headers=auth(bob_token)
            )
            assert fav.status_code == 200
        assert fav.json()["favourited"] is True
        assert fav.json()["favourites_count"] == 1
    page = await client.get("/api/v1/favourites", params={"limit": 2}, headers=auth(bob_token))
    assert [s["id"] for s in page.json()] == [statuses[2]["id"], statuses[1]["id"]]
    assert 'rel="next"' in page.headers["Link"]
    next_url = page.headers["Link"].split(";")[0].strip("<>")
    rest = await client.get(next_url, headers=auth(bob_token))
    assert [s["id"] for s in rest.json()] == [statuses[0]["id"]]
    who = await client.get(f"/api/v1/statuses/{statuses[0]['id']}/favourited_by")
    assert [a["id"] for a in who.json()] == [str(bob.id)]
    undo = await client.post(
        f"/api/v1/statuses/{statuses[0]['id']}/unfavourite", headers=auth(bob_token)
    )
    assert undo.json()["favourited"] is False
    assert undo.json()["favourites_count"] == 0
    assert alice.id != bob.id


async def test_reblog_and_unreblog(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    status = await post_status(client, token, "boost me")
    boost = await client.post(f"/api/v1/statuses/{status['id']}/reblog", headers=auth(bob_token))
    assert boost.status_code == 200
    body = boost.json()
    assert body["reblog"]["id"] == status["id"]
    assert body["account"]["id"] == str(bob.id)
    assert body["reblog"]["reblogged"] is True
    assert body["reblog"]["reblogs_count"] == 1
    again = await client.post(f"/api/v1/statuses/{status['id']}/reblog", headers=auth(bob_token))
    assert again.json()["id"] == body["id"]
    who = await client.get(f"/api/v1/statuses/{status['id']}/reblogged_by")
    assert [a["id"] for a in who.json()] == [str(bob.id)]
    listed = await client.get(f"/api/v1/accounts/{bob.id}/statuses")
    assert [s["id"] for s in listed.json()] == [body["id"]]
    excluded = await client.get(
        f"/api/v1/accounts/{bob.id}/statuses", params={"exclude_reblogs": "true"}
    )
    assert excluded.json() == []
    undo = await client.post(f"/api/v1/statuses/{status['id']}/unreblog", headers=auth(bob_token))
    assert undo.json()["reblogged"] is False
    assert undo.json()["reblogs_count"] == 0
    assert alice.id


async def test_private_and_direct_boosts_are_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    await follow(app, bob.id, alice.id)
    private = await post_status(client, token, "followers", visibility="private")
    direct = await post_status(client, token, "@bob psst", visibility="direct")
    for status in (private, direct):
        response = await client.post(
            f"/api/v1/statuses/{status['id']}/reblog", headers=auth(bob_token)
        )
        assert response.status_code == 403
    own = await client.post(f"/api/v1/statuses/{private['id']}/reblog", headers=auth(token))
    assert own.status_code == 200
    assert own.json()["visibility"] == "private"
    own_direct = await client.post(f"/api/v1/statuses/{direct['id']}/reblog", headers=auth(token))
    assert own_direct.status_code == 403


async def test_bookmarks(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    status = await post_status(client, token, "keep")
    marked = await client.post(f"/api/v1/statuses/{status['id']}/bookmark", headers=auth(bob_token))
    assert marked.json()["bookmarked"] is True
    listed = await client.get("/api/v1/bookmarks", headers=auth(bob_token))
    assert [s["id"] for s in listed.json()] == [status["id"]]
    await client.post(f"/api/v1/statuses/{status['id']}/unbookmark", headers=auth(bob_token))
    assert (await client.get("/api/v1/bookmarks", headers=auth(bob_token))).json() == []
    read_only = await user_with_token(app, "carol")
    assert read_only


async def test_pins(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    statuses = [await post_status(client, token, f"pin {i}") for i in range(6)]
    for status in statuses[:5]:
        pinned = await client.post(f"/api/v1/statuses/{status['id']}/pin", headers=auth(token))
        assert pinned.json()["pinned"] is True
    sixth = await client.post(f"/api/v1/statuses/{statuses[5]['id']}/pin", headers=auth(token))
    assert sixth.status_code == 422
    theirs = await client.post(f"/api/v1/statuses/{statuses[5]['id']}/pin", headers=auth(bob_token))
    assert theirs.status_code == 422
    listed = await client.get(f"/api/v1/accounts/{alice.id}/statuses", params={"pinned": "true"})
    assert len(listed.json()) == 5
    await client.post(f"/api/v1/statuses/{statuses[0]['id']}/unpin", headers=auth(token))
    listed = await client.get(f"/api/v1/accounts/{alice.id}/statuses", params={"pinned": "true"})
    assert len(listed.json()) == 4


async def test_polls(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    status = await post_status(
        client, token, "which?", poll={"options": ["tea", "coffee"], "expires_in": 600}
    )
    poll = status["poll"]
    assert [o["title"] for o in poll["options"]] == ["tea", "coffee"]
    assert not poll["expired"]
    voted = await client.post(
        f"/api/v1/polls/{poll['id']}/votes", json={"choices": ["1"]}, headers=auth(bob_token)
    )
    assert voted.status_code == 200, voted.text
    assert voted.json()["own_votes"] == [1]
    assert voted.json()["votes_count"] == 1
    assert voted.json()["options"][1]["votes_count"] == 1
    twice = await client.post(
        f"/api/v1/polls/{poll['id']}/votes", json={"choices": ["0"]}, headers=auth(bob_token)
    )
    assert twice.status_code == 422
    two_choices = await client.post(
        f"/api/v1/polls/{poll['id']}/votes", data={"choices[]": ["0", "1"]}, headers=auth(token)
    )
    assert two_choices.status_code == 422
    assert "choices" in two_choices.json()["error"]
    fetched = await client.get(f"/api/v1/polls/{poll['id']}")
    assert fetched.json()["voters_count"] == 1


async def test_batch_get(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, token = await user_with_token(app, "alice")
    first = await post_status(client, token, "one")
    second = await post_status(client, token, "two")
    secret = await post_status(client, token, "secret", visibility="private")
    response = await client.get(
        "/api/v1/statuses",
        params=[
            ("id[]", second["id"]),
            ("id[]", "12345"),
            ("id[]", secret["id"]),
            ("id[]", first["id"]),
        ],
    )
    assert [s["id"] for s in response.json()] == [second["id"], first["id"]]
