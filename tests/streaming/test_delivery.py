"""Item 6, the delivery guarantee: streaming is a live view, persistence is the record. A
notification or direct message produced while the recipient's socket is down is fetched
through REST after reconnecting (notifications since the last one seen; conversations),
and the new socket neither replays nor contradicts it."""

from __future__ import annotations

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


async def test_what_happens_while_disconnected_is_fetched_after_reconnect(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    alice, alice_token = await user_with_token(factory_app, "alice")
    bob, bob_token = await user_with_token(factory_app, "bob")
    # alice follows bob: his direct message is no stranger's private mention (which the
    # default notification policy filters).
    await follow(factory_app, alice.id, bob.id)
    with servers(test_env, 1) as (server,):
        async with websocket(server, alice_token, query={"stream": "user"}) as ws:
            await subscribed(ws, server, alice_token)
            await post_status(server, bob_token, "@alice first")
            seen, _ = await wait_for_message(ws, lambda m: m["event"] == "notification")
        last_seen = payload(seen)["id"]

        # Alice is offline: a mention and a direct message arrive meanwhile.
        missed_mention = await post_status(server, bob_token, "@alice while you were out")
        missed_dm = await post_status(server, bob_token, "@alice secret", visibility="direct")

        async with websocket(server, alice_token, query={"stream": "user"}) as ws:
            await subscribed(ws, server, alice_token)
            missed = await api(
                server, "GET", "/api/v1/notifications", alice_token, params={"since_id": last_seen}
            )
            conversations = await api(server, "GET", "/api/v1/conversations", alice_token)
            live = await post_status(server, bob_token, "@alice now live")
            message, before = await wait_for_message(
                ws,
                lambda m: m["event"] == "notification" and payload(m)["status"]["id"] == live["id"],
            )
    missed_status_ids = [n["status"]["id"] for n in missed.json()]
    assert missed_status_ids == [missed_dm["id"], missed_mention["id"]]
    assert conversations.json()[0]["last_status"]["id"] == missed_dm["id"]
    assert conversations.json()[0]["unread"] is True
    # The reconnected stream carries only what happened after it opened.
    assert [m for m in before if m["event"] in ("notification", "conversation")] == []
    assert payload(message)["id"] not in {n["id"] for n in missed.json()}
