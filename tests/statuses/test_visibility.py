"""Private and direct statuses stay inside their audience on every statuses read path;
blocks hide both ways; a suspended author's statuses vanish."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.social_factories import auth, follow, post_status, user_with_token
from tests.statuses.support import block, counting_queries, suspend
from tests.timelines.support import settle


async def _paths(
    client: httpx.AsyncClient, token: str | None, author_id: int, status_id: str, root_id: str
) -> dict[str, bool]:
    """Whether `status_id` is visible to the token's owner on each read path."""
    headers = auth(token) if token else {}
    one = await client.get(f"/api/v1/statuses/{status_id}", headers=headers)
    batch = await client.get("/api/v1/statuses", params={"id[]": status_id}, headers=headers)
    context = await client.get(f"/api/v1/statuses/{root_id}/context", headers=headers)
    listed = await client.get(f"/api/v1/accounts/{author_id}/statuses", headers=headers)
    below = context.json().get("descendants", []) if context.status_code == 200 else []
    return {
        "get": one.status_code == 200,
        "batch": any(s["id"] == status_id for s in batch.json()),
        "context": any(s["id"] == status_id for s in below),
        "account": listed.status_code == 200 and any(s["id"] == status_id for s in listed.json()),
    }


async def test_private_and_direct_audiences(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    follower, follower_token = await user_with_token(app, "fan")
    _stranger, stranger_token = await user_with_token(app, "stranger")
    _friend, friend_token = await user_with_token(app, "friend")
    await follow(app, follower.id, alice.id)
    root = await post_status(client, token, "root")
    private = await post_status(
        client, token, "for followers", visibility="private", in_reply_to_id=root["id"]
    )
    direct = await post_status(
        client, token, "@friend hi", visibility="direct", in_reply_to_id=root["id"]
    )

    everywhere = {"get": True, "batch": True, "context": True, "account": True}
    nowhere = dict.fromkeys(everywhere, False)
    assert await _paths(client, follower_token, alice.id, private["id"], root["id"]) == everywhere
    assert await _paths(client, stranger_token, alice.id, private["id"], root["id"]) == nowhere
    assert await _paths(client, None, alice.id, private["id"], root["id"]) == nowhere
    assert await _paths(client, friend_token, alice.id, direct["id"], root["id"]) == everywhere
    assert await _paths(client, follower_token, alice.id, direct["id"], root["id"]) == nowhere
    assert await _paths(client, None, alice.id, direct["id"], root["id"]) == nowhere
    assert await _paths(client, token, alice.id, direct["id"], root["id"]) == everywhere
    fav = await client.post(
        f"/api/v1/statuses/{private['id']}/favourite", headers=auth(stranger_token)
    )
    assert fav.status_code == 404


async def test_blocks_hide_both_ways(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    _carol, carol_token = await user_with_token(app, "carol")
    root = await post_status(client, token, "root")
    by_alice = await post_status(client, token, "by alice", in_reply_to_id=root["id"])
    by_bob = await post_status(client, bob_token, "by bob", in_reply_to_id=root["id"])
    await block(app, alice.id, bob.id)
    nowhere = {"get": False, "batch": False, "context": False, "account": False}
    assert await _paths(client, bob_token, alice.id, by_alice["id"], root["id"]) == nowhere
    assert await _paths(client, token, bob.id, by_bob["id"], root["id"]) == nowhere
    # A third account still sees both.
    assert (await _paths(client, carol_token, bob.id, by_bob["id"], root["id"]))["context"]


async def test_suspended_author_vanishes(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    status = await post_status(client, token, "soon gone")
    await suspend(app, alice.id)
    assert (
        await client.get(f"/api/v1/statuses/{status['id']}", headers=auth(bob_token))
    ).status_code == 404
    batch = await client.get("/api/v1/statuses", params={"id[]": status["id"]})
    assert batch.json() == []
    assert (await client.get(f"/api/v1/accounts/{alice.id}/statuses")).status_code == 404


async def test_boost_of_a_blocker_is_hidden(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    original = await post_status(client, token, "original")
    boost = (
        await client.post(f"/api/v1/statuses/{original['id']}/reblog", headers=auth(bob_token))
    ).json()
    visible = await client.get(f"/api/v1/accounts/{bob.id}/statuses", headers=auth(carol_token))
    assert [s["id"] for s in visible.json()] == [boost["id"]]
    await block(app, alice.id, carol.id)
    hidden = await client.get(f"/api/v1/accounts/{bob.id}/statuses", headers=auth(carol_token))
    assert hidden.json() == []
    assert (
        await client.get(f"/api/v1/statuses/{boost['id']}", headers=auth(carol_token))
    ).status_code == 404


@pytest.mark.slow
async def test_account_statuses_query_count_is_constant(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    _carol, carol_token = await user_with_token(app, "carol")
    await post_status(client, carol_token, "to boost")

    async def count_for(limit: int) -> int:
        with counting_queries(app) as statements:
            response = await client.get(
                f"/api/v1/accounts/{alice.id}/statuses",
                params={"limit": limit},
                headers=auth(bob_token),
            )
        assert response.status_code == 200
        assert len(response.json()) == limit
        return len(statements)

    async def post_mix(count: int) -> None:
        target = (await client.get(f"/api/v1/accounts/{_carol.id}/statuses")).json()[0]["id"]
        for i in range(count):
            if i == count - 1:  # the newest: both pages hold a boost
                await client.post(f"/api/v1/statuses/{target}/reblog", headers=auth(token))
                continue
            await post_status(
                client,
                token,
                f"@bob #tag{i} post {i}",
                **({"poll": {"options": ["a", "b"], "expires_in": 600}} if i % 3 == 0 else {}),
            )

    await post_mix(20)
    await settle(app)  # jobs after the posts (fan-out, entity caches) finish before counting
    await count_for(1)  # warm the token cache, so both counts measure the same work
    small = await count_for(5)
    large = await count_for(20)
    assert small == large
    assert bob.id
