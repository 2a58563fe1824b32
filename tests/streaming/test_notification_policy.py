"""A notification the recipient's policy filtered is stored but never streamed: the next
accepted one is the first notification event the recipient's socket sees."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from tests.social_factories import user_with_token
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


async def test_filtered_notifications_are_not_streamed(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    _bob, bob_token = await user_with_token(factory_app, "bob")
    with servers(test_env, 1) as (server,):
        for stream in ("user", "user:notification"):
            async with websocket(server, alice_token, query={"stream": stream}) as ws:
                await subscribed(ws, server, alice_token)
                # A stranger's private mention is filtered (Mastodon's default policy) …
                held = await post_status(server, bob_token, "@alice psst", visibility="direct")
                # … and their public mention is not.
                shown = await post_status(server, bob_token, f"@alice hello on {stream}")
                message, before = await wait_for_message(ws, lambda m: m["event"] == "notification")
                assert payload(message)["status"]["id"] == shown["id"]
                assert all(m["event"] != "notification" for m in before)
        stored = await api(
            server,
            "GET",
            "/api/v1/notifications",
            alice_token,
            params={"include_filtered": "true", "types[]": "mention"},
        )
    assert held["id"] in {n["status"]["id"] for n in stored.json()}
