"""Every topic stream hears a status's whole life: whoever saw it posted also hears of its
edits and its deletion (connecthub/channels.py names one audience for all three)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

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

PUBLIC_STREAMS: list[dict[str, str]] = [
    {"stream": "public"},
    {"stream": "public:local"},
    {"stream": "hashtag", "tag": "cats"},
    {"stream": "hashtag:local", "tag": "Cats"},
]


def _seen(messages: list[dict[str, Any]], status_id: str) -> dict[tuple[str, ...], list[str]]:
    """Per stream label, the events that concerned `status_id`, in order."""
    seen: dict[tuple[str, ...], list[str]] = {}
    for message in messages:
        about = message["payload"] if message["event"] == "delete" else payload(message)["id"]
        if about == status_id:
            seen.setdefault(tuple(message["stream"]), []).append(message["event"])
    return seen


async def test_public_and_hashtag_streams_hear_a_post_its_edit_and_its_deletion(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    _bob, bob_token = await user_with_token(factory_app, "bob")
    with servers(test_env, 1) as (server,):
        async with websocket(server, alice_token) as ws:
            for stream in PUBLIC_STREAMS:
                await ws.send(json.dumps({"type": "subscribe", **stream}))
            await subscribed(ws, server, alice_token)
            status = await post_status(server, bob_token, "Look #cats")
            edited = await api(
                server,
                "PUT",
                f"/api/v1/statuses/{status['id']}",
                bob_token,
                json={"status": "Look again #cats"},
            )
            assert edited.status_code == 200, edited.text
            # The edit heard on every stream before the deletion: each socket decides who
            # may read an event's status when it arrives, and a status deleted by then is
            # read by nobody (a loaded CI once dropped the edit that way).
            heard: list[dict[str, Any]] = []
            for _stream in PUBLIC_STREAMS:
                last, before = await wait_for_message(
                    ws,
                    lambda m: m["event"] == "status.update" and payload(m)["id"] == status["id"],
                )
                heard += [*before, last]
            gone = await api(server, "DELETE", f"/api/v1/statuses/{status['id']}", bob_token)
            assert gone.status_code == 200, gone.text
            # A later post closes the record: events on one socket arrive in order.
            fence = await post_status(server, bob_token, "Fence #cats")
            _last, before = await wait_for_message(
                ws,
                lambda m: (
                    m["stream"] == ["hashtag:local", "cats"]
                    and m["event"] == "update"
                    and payload(m)["id"] == fence["id"]
                ),
            )
            before = heard + before
    life = ["update", "status.update", "delete"]
    assert _seen(before, status["id"]) == {
        ("public",): life,
        ("public:local",): life,
        ("hashtag", "cats"): life,
        ("hashtag:local", "cats"): life,
    }


async def test_a_list_stream_named_with_leading_zeros_is_the_same_list(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    """The list id is read as a number (`ids.parse_id`) for the owner check; the channel
    must be named from that number too, not from the text the client sent."""
    alice, alice_token = await user_with_token(factory_app, "alice")
    bob, bob_token = await user_with_token(factory_app, "bob")
    await follow(factory_app, alice.id, bob.id)
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
            await ws.send(
                json.dumps({"type": "subscribe", "stream": "list", "list": "0" + list_id})
            )
            await subscribed(ws, server, alice_token)
            by_bob = await post_status(server, bob_token, "on the list")
            update, before = await wait_for_message(ws, lambda m: m["event"] == "update")
    assert before == []
    assert update["stream"] == ["list", list_id]
    assert payload(update)["id"] == by_bob["id"]
