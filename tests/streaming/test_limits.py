"""Streaming resource caps: subscriptions per connection (an error message, nothing
subscribed), connections per access token and per account (the handshake or the SSE
request refused with 429). With Redis the connections are spread over two server
processes and the counts hold across them."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import InvalidStatus

from tests.factories import create_token
from tests.social_factories import user_with_token
from tests.streaming.support import (
    WAIT_SECONDS,
    multi_process,
    next_message,
    payload,
    post_status,
    servers,
    sse_stream,
    subscribed,
    wait_for_message,
    websocket,
)

if TYPE_CHECKING:
    from tests.conftest import LiveServer, TestEnv

TOO_MANY_SUBSCRIPTIONS = {"error": "Too many subscriptions on this connection", "status": 429}
TOKEN_CAP = {"error": "Too many streaming connections for this access token"}
ACCOUNT_CAP = {"error": "Too many streaming connections for this account"}


async def test_subscribing_past_the_cap_is_refused(test_env: TestEnv, factory_app: FastAPI) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    _bob, bob_token = await user_with_token(factory_app, "bob")
    with servers(test_env, 1, STREAMING_MAX_SUBSCRIPTIONS="2") as (server,):
        async with websocket(server, alice_token, query={"stream": "public"}) as ws:
            await ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "cats"}))
            await ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "dogs"}))
            assert await next_message(ws) == TOO_MANY_SUBSCRIPTIONS
            # A stream already subscribed is not one more.
            await ws.send(json.dumps({"type": "subscribe", "stream": "public"}))
            await subscribed(ws, server, alice_token)
            dogs = await post_status(server, bob_token, "Only #dogs")
            cats = await post_status(server, bob_token, "Only #cats")
            message, before = await wait_for_message(ws, lambda m: m["stream"][0] == "hashtag")
            assert message["stream"] == ["hashtag", "cats"]
            assert payload(message)["id"] == cats["id"]
            assert [(m["stream"], payload(m)["id"]) for m in before] == [
                (["public"], dogs["id"]),
                (["public"], cats["id"]),
            ]
            # Unsubscribing frees the slot.
            await ws.send(json.dumps({"type": "unsubscribe", "stream": "hashtag", "tag": "cats"}))
            await ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "dogs"}))
            await subscribed(ws, server, alice_token)
            again = await post_status(server, bob_token, "More #dogs")
            message, _ = await wait_for_message(ws, lambda m: m["stream"][0] == "hashtag")
    assert message["stream"] == ["hashtag", "dogs"]
    assert payload(message)["id"] == again["id"]


async def _refused(server: LiveServer, token: str) -> tuple[int, object]:
    with pytest.raises(InvalidStatus) as refused:
        async with websocket(server, token):
            pass
    response = refused.value.response
    return response.status_code, json.loads(response.body or b"null")


async def _sse_refused(server: LiveServer, token: str) -> tuple[int, object]:
    async with sse_stream(server, "/api/v1/streaming/public", token) as response:
        await response.aread()
        return response.status_code, response.json()


@contextlib.asynccontextmanager
async def _admitted(server: LiveServer, token: str) -> AsyncIterator[ClientConnection]:
    """A socket opened as soon as a slot is free: closing a socket frees its slot once the
    server has seen it go (a bound on waiting, not an assertion on time)."""
    # Three times the usual wait: a loaded 2-core machine (CI at load 12) took longer than
    # one to see the previous sockets go.
    deadline = asyncio.get_running_loop().time() + 3 * WAIT_SECONDS
    while True:
        try:
            async with websocket(server, token) as ws:
                yield ws
                return
        except InvalidStatus as refused:
            if refused.response.status_code != 429:
                raise
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)


async def test_connections_are_capped_per_token_and_per_account(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    alice, first = await user_with_token(factory_app, "alice")
    second = await create_token(factory_app, alice.id)
    environ = {
        "STREAMING_MAX_CONNECTIONS_PER_TOKEN": "2",
        "STREAMING_MAX_CONNECTIONS_PER_ACCOUNT": "3",
    }
    with servers(test_env, 2 if multi_process() else 1, **environ) as started:
        here, there = started[0], started[-1]
        async with (
            websocket(here, first) as ws,
            sse_stream(there, "/api/v1/streaming/public", first) as sse,
        ):
            assert sse.status_code == 200
            assert await _refused(here, first) == (429, TOKEN_CAP)
            assert await _refused(there, first) == (429, TOKEN_CAP)
            assert await _sse_refused(here, first) == (429, TOKEN_CAP)
            async with websocket(there, second) as other:
                await subscribed(other, there, second)
                # Three connections of the account: the second token has no slot left.
                assert await _refused(here, second) == (429, ACCOUNT_CAP)
                assert await _sse_refused(there, second) == (429, ACCOUNT_CAP)
            await subscribed(ws, here, first)
        # Closing frees the slots, on whichever process held them.
        async with _admitted(there, first) as one, _admitted(here, first) as two:
            await subscribed(one, there, first)
            await subscribed(two, here, first)
