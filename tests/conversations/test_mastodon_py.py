"""Mastodon.py reading notifications and direct-message conversations from a real
`connecthub serve`."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from mastodon import Mastodon

from tests.conftest import LiveServer
from tests.social_factories import follow, user_with_token


def _exchange(url: str, alice_token: str, bob_token: str) -> dict[str, Any]:
    alice = Mastodon(access_token=alice_token, api_base_url=url)
    bob = Mastodon(access_token=bob_token, api_base_url=url)
    post = alice.status_post("Hello world")
    bob.status_favourite(post)
    dm = alice.status_post("@bob meet at noon?", visibility="direct", idempotency_key="dm-noon")
    alice.status_post("@bob meet at noon?", visibility="direct", idempotency_key="dm-noon")
    alice_notes = alice.notifications()
    mentions = bob.notifications(types=["mention"])
    bob_conversations = bob.conversations()
    read = bob.conversations_read(bob_conversations[0])
    return {
        "dm": dm,
        "alice_notes": alice_notes,
        "mentions": mentions,
        "bob_conversations": bob_conversations,
        "read": read,
        "after": bob.conversations(),
        "one": alice.notifications(id=alice_notes[0]),
    }


async def test_mastodon_py_notifications_and_conversations(
    app: FastAPI, live_server: LiveServer
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    # bob follows alice, or her direct message would wait in a request (Mastodon's default
    # notification policy filters private mentions from strangers).
    await follow(app, bob.id, alice.id)
    result = await asyncio.to_thread(_exchange, live_server.url, alice_token, bob_token)

    [favourite] = result["alice_notes"]
    assert favourite["type"] == "favourite"
    assert str(favourite["account"]["id"]) == str(bob.id)
    assert result["one"]["id"] == favourite["id"]
    [mention] = result["mentions"]
    assert str(mention["status"]["id"]) == str(result["dm"]["id"])
    [conversation] = result["bob_conversations"]
    assert conversation["unread"] is True
    assert [str(a["id"]) for a in conversation["accounts"]] == [str(alice.id)]
    assert str(conversation["last_status"]["id"]) == str(result["dm"]["id"])
    assert result["read"]["unread"] is False
    assert [c["unread"] for c in result["after"]] == [False]
