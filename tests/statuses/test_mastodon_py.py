"""Mastodon.py posting, replying, favouriting, boosting and deleting against a real
`connecthub serve`."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from mastodon import Mastodon

from tests.conftest import LiveServer
from tests.social_factories import user_with_token


def _conversation(url: str, alice_token: str, bob_token: str) -> dict[str, Any]:
    alice = Mastodon(access_token=alice_token, api_base_url=url)
    bob = Mastodon(access_token=bob_token, api_base_url=url)
    post = alice.status_post("Hello from #MastodonPy", idempotency_key="retry-safe")
    retried = alice.status_post("Hello from #MastodonPy", idempotency_key="retry-safe")
    reply = bob.status_reply(post, "Nice post!")
    favourited = bob.status_favourite(post)
    boost = bob.status_reblog(post)
    deleted = bob.status_delete(reply)
    after = alice.status(post["id"])
    return {
        "post": post,
        "retried": retried,
        "reply": reply,
        "favourited": favourited,
        "boost": boost,
        "deleted": deleted,
        "after": after,
    }


async def test_mastodon_py_statuses(app: FastAPI, live_server: LiveServer) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    result = await asyncio.to_thread(_conversation, live_server.url, alice_token, bob_token)

    post = result["post"]
    assert str(post["account"]["id"]) == str(alice.id)
    assert str(result["retried"]["id"]) == str(post["id"])
    assert post["tags"][0]["name"] == "MastodonPy"
    assert str(result["reply"]["in_reply_to_id"]) == str(post["id"])
    assert "@alice" in result["reply"]["content"]
    assert result["favourited"]["favourited"] is True
    assert str(result["boost"]["reblog"]["id"]) == str(post["id"])
    assert result["deleted"]["text"].endswith("Nice post!")
    after = result["after"]
    assert (after["favourites_count"], after["reblogs_count"], after["replies_count"]) == (1, 1, 0)
