"""What the home fan-out job delivers besides `update` on followers' user streams: list
streams get their members' posts and deletions, and followers hear of edits
(`status.update`), each only where the owner may read the status."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from fastapi import FastAPI

from tests.social_factories import follow, user_with_token
from tests.streaming.support import (
    api,
    payload,
    post_status,
    servers,
    subscribed,
    wait_for_message,
    websocket,
)

if TYPE_CHECKING:
    from tests.conftest import TestEnv


async def test_list_stream_carries_members_posts_and_deletions(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    alice, alice_token = await user_with_token(factory_app, "alice")
    bob, bob_token = await user_with_token(factory_app, "bob")
    carol, carol_token = await user_with_token(factory_app, "carol")
    await follow(factory_app, alice.id, bob.id)
    await follow(factory_app, alice.id, carol.id)
    with servers(test_env, 1) as (server,):
        created = await api(server, "POST", "/api/v1/lists", alice_token, json={"title": "Bob"})
        list_id = created.json()["id"]
        added = await api(
            server,
            "POST",
            f"/api/v1/lists/{list_id}/accounts",
            alice_token,
            json={"account_ids": [str(bob.id)]},
        )
        assert added.status_code == 200, added.text
        async with websocket(server, alice_token) as ws:
            await ws.send(json.dumps({"type": "subscribe", "stream": "list", "list": list_id}))
            await subscribed(ws, server, alice_token)
            await post_status(server, carol_token, "not on the list")
            by_bob = await post_status(server, bob_token, "on the list")
            update, before = await wait_for_message(ws, lambda m: m["event"] == "update")
            gone = await api(server, "DELETE", f"/api/v1/statuses/{by_bob['id']}", bob_token)
            assert gone.status_code == 200
            deleted, _ = await wait_for_message(ws, lambda m: m["event"] == "delete")
    assert before == []
    assert update["stream"] == ["list", list_id]
    assert payload(update)["id"] == by_bob["id"]
    assert deleted["stream"] == ["list", list_id]
    assert deleted["payload"] == by_bob["id"]


async def test_followers_hear_of_edits_on_their_user_stream(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    alice, alice_token = await user_with_token(factory_app, "alice")
    bob, bob_token = await user_with_token(factory_app, "bob")
    await follow(factory_app, alice.id, bob.id)
    with servers(test_env, 1) as (server,):
        async with websocket(server, alice_token, query={"stream": "user"}) as ws:
            await subscribed(ws, server, alice_token)
            status = await post_status(server, bob_token, "first draft", visibility="private")
            await wait_for_message(ws, lambda m: m["event"] == "update")
            edited = await api(
                server,
                "PUT",
                f"/api/v1/statuses/{status['id']}",
                bob_token,
                json={"status": "second draft"},
            )
            assert edited.status_code == 200, edited.text
            message, _ = await wait_for_message(ws, lambda m: m["event"] == "status.update")
    assert message["stream"] == ["user"]
    assert payload(message)["id"] == status["id"]
    assert "second draft" in payload(message)["content"]
