"""Locked accounts: follow requests, authorize, reject, withdraw, and their listing."""

from __future__ import annotations

from fastapi import FastAPI
from httpx import AsyncClient

from tests.relationships.support import (
    act,
    counts,
    next_link,
    notification_types,
    relationship,
    set_account,
)
from tests.social_factories import auth, user_with_token


async def test_request_then_authorize_makes_a_follow(app: FastAPI, client: AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    carol, carol_token = await user_with_token(app, "carol")
    await set_account(app, carol.id, locked=True)

    requested = await client.post(
        f"/api/v1/accounts/{carol.id}/follow",
        json={"reblogs": False, "languages": ["fr"]},
        headers=auth(alice_token),
    )
    assert requested.status_code == 200, requested.text
    assert (requested.json()["requested"], requested.json()["following"]) == (True, False)
    again = await act(client, alice_token, carol.id, "follow", notify="true")
    assert again.json()["requested"] is True
    assert await counts(client, carol_token, carol.id) == (0, 0)
    assert (await relationship(client, carol_token, alice.id))["requested_by"] is True
    assert await notification_types(client, carol_token) == [("follow_request", str(alice.id))]

    pending = await client.get("/api/v1/follow_requests", headers=auth(carol_token))
    assert [a["id"] for a in pending.json()] == [str(alice.id)]
    assert pending.json()[0]["username"] == "alice"

    accepted = await client.post(
        f"/api/v1/follow_requests/{alice.id}/authorize", headers=auth(carol_token)
    )
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["followed_by"], accepted.json()["requested_by"]) == (True, False)
    assert await counts(client, carol_token, carol.id) == (1, 0)
    assert await counts(client, carol_token, alice.id) == (0, 1)
    mine = await relationship(client, alice_token, carol.id)
    assert (mine["following"], mine["requested"]) == (True, False)
    # The options given with the request carry over to the follow.
    assert (mine["showing_reblogs"], mine["notifying"], mine["languages"]) == (False, True, ["fr"])
    # Accepting is the owner's own choice: no extra `follow` notification.
    assert await notification_types(client, carol_token) == [("follow_request", str(alice.id))]
    assert (await client.get("/api/v1/follow_requests", headers=auth(carol_token))).json() == []

    twice = await client.post(
        f"/api/v1/follow_requests/{alice.id}/authorize", headers=auth(carol_token)
    )
    assert twice.status_code == 404


async def test_reject_and_withdraw(app: FastAPI, client: AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    await set_account(app, carol.id, locked=True)
    await act(client, alice_token, carol.id, "follow")
    await act(client, bob_token, carol.id, "follow")

    rejected = await client.post(
        f"/api/v1/follow_requests/{alice.id}/reject", headers=auth(carol_token)
    )
    assert rejected.status_code == 200
    assert rejected.json()["requested_by"] is False
    assert (await relationship(client, alice_token, carol.id))["requested"] is False

    withdrawn = await act(client, bob_token, carol.id, "unfollow")
    assert withdrawn.json()["requested"] is False
    assert (await client.get("/api/v1/follow_requests", headers=auth(carol_token))).json() == []
    assert await counts(client, carol_token, carol.id) == (0, 0)

    # Only the account asked can answer; an unknown requester is a 404.
    stray = await client.post(
        f"/api/v1/follow_requests/{bob.id}/authorize", headers=auth(alice_token)
    )
    assert stray.status_code == 404


async def test_follow_requests_are_paginated_with_links(app: FastAPI, client: AsyncClient) -> None:
    carol, carol_token = await user_with_token(app, "carol")
    await set_account(app, carol.id, locked=True)
    requesters = []
    for n in range(5):
        fan, fan_token = await user_with_token(app, f"fan{n}")
        await act(client, fan_token, carol.id, "follow")
        requesters.append(str(fan.id))

    first = await client.get(
        "/api/v1/follow_requests", params={"limit": 3}, headers=auth(carol_token)
    )
    assert [a["id"] for a in first.json()] == requesters[::-1][:3]
    rest = await client.get(next_link(first), headers=auth(carol_token))
    assert [a["id"] for a in rest.json()] == requesters[::-1][3:]
