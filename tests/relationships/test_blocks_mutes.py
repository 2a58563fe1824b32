"""Blocks end follows both ways; mutes hide, optionally for a while."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.relationships.support import (
    act,
    counts,
    next_link,
    relationship,
    set_account,
)
from tests.social_factories import auth, user_with_token


async def test_block_removes_follows_both_ways_and_adjusts_counts(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    await act(client, alice_token, bob.id, "follow")
    await act(client, bob_token, alice.id, "follow")
    await act(client, carol_token, alice.id, "follow")  # untouched by the block
    assert await counts(client, alice_token, alice.id) == (2, 1)

    blocked = await act(client, alice_token, bob.id, "block")
    assert blocked.status_code == 200
    entity = blocked.json()
    assert (entity["blocking"], entity["following"], entity["followed_by"]) == (True, False, False)
    assert await counts(client, alice_token, alice.id) == (1, 0)
    assert await counts(client, alice_token, bob.id) == (0, 0)
    assert (await relationship(client, bob_token, alice.id))["blocked_by"] is True

    await act(client, alice_token, bob.id, "block")  # twice: a no-op
    listed = await client.get("/api/v1/blocks", headers=auth(alice_token))
    assert [a["id"] for a in listed.json()] == [str(bob.id)]

    unblocked = await act(client, alice_token, bob.id, "unblock")
    assert unblocked.json()["blocking"] is False
    assert unblocked.json()["following"] is False  # unblocking restores nothing
    assert (await client.get("/api/v1/blocks", headers=auth(alice_token))).json() == []
    assert await counts(client, alice_token, carol.id) == (0, 1)


async def test_block_clears_pending_follow_requests_both_ways(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    await set_account(app, alice.id, locked=True)
    await set_account(app, bob.id, locked=True)
    await act(client, alice_token, bob.id, "follow")
    await act(client, bob_token, alice.id, "follow")

    await act(client, alice_token, bob.id, "block")
    for token in (alice_token, bob_token):
        pending = await client.get("/api/v1/follow_requests", headers=auth(token))
        assert pending.json() == []
    state = await relationship(client, alice_token, bob.id)
    assert (state["requested"], state["requested_by"]) == (False, False)


async def test_mute_options_and_the_mutes_list(app: FastAPI, client: AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    carol, _ = await user_with_token(app, "carol")

    muted = await act(client, alice_token, bob.id, "mute")
    assert (muted.json()["muting"], muted.json()["muting_notifications"]) == (True, True)
    quiet = await client.post(
        f"/api/v1/accounts/{carol.id}/mute",
        json={"notifications": False, "duration": 3600},
        headers=auth(alice_token),
    )
    assert quiet.status_code == 200, quiet.text
    assert (quiet.json()["muting"], quiet.json()["muting_notifications"]) == (True, False)

    listed = (await client.get("/api/v1/mutes", headers=auth(alice_token))).json()
    assert [a["id"] for a in listed] == [str(carol.id), str(bob.id)]
    assert listed[0]["mute_expires_at"].endswith("Z")
    assert listed[1]["mute_expires_at"] is None

    remuted = await act(client, alice_token, carol.id, "mute", duration="0")
    assert remuted.json()["muting_notifications"] is True
    listed = (await client.get("/api/v1/mutes", headers=auth(alice_token))).json()
    assert [a["mute_expires_at"] for a in listed] == [None, None]

    unmuted = await act(client, alice_token, bob.id, "unmute")
    assert unmuted.json()["muting"] is False
    listed = (await client.get("/api/v1/mutes", headers=auth(alice_token))).json()
    assert [a["id"] for a in listed] == [str(carol.id)]


@pytest.mark.slow
async def test_a_mute_with_a_duration_expires(app: FastAPI, client: AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    muted = await act(client, alice_token, bob.id, "mute", duration="1")
    assert muted.json()["muting"] is True
    state = muted.json()
    for _ in range(100):
        state = await relationship(client, alice_token, bob.id)
        if not state["muting"]:
            break
        await asyncio.sleep(0.1)
    assert (state["muting"], state["muting_notifications"]) == (False, False)
    assert (await client.get("/api/v1/mutes", headers=auth(alice_token))).json() == []


async def test_bad_mute_durations_name_the_field(app: FastAPI, client: AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    bob, _ = await user_with_token(app, "bob")
    for duration in ("soon", "-5", "1.5", str(10**12)):
        bad = await act(client, alice_token, bob.id, "mute", duration=duration)
        assert bad.status_code == 422, duration
        assert "duration" in bad.json()["error"]
    bad_flag = await act(client, alice_token, bob.id, "mute", notifications="perhaps")
    assert bad_flag.status_code == 422
    assert "notifications" in bad_flag.json()["error"]
    assert (await relationship(client, alice_token, bob.id))["muting"] is False


async def test_blocks_and_mutes_lists_paginate(app: FastAPI, client: AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    others = []
    for n in range(4):
        other, _ = await user_with_token(app, f"other{n}")
        await act(client, alice_token, other.id, "block")
        await act(client, alice_token, other.id, "mute")
        others.append(str(other.id))
    for path in ("/api/v1/blocks", "/api/v1/mutes"):
        first = await client.get(path, params={"limit": 3}, headers=auth(alice_token))
        assert [a["id"] for a in first.json()] == others[::-1][:3], path
        rest = await client.get(next_link(first), headers=auth(alice_token))
        assert [a["id"] for a in rest.json()] == others[::-1][3:], path
