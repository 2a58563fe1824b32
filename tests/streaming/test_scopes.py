"""Every stream needs a read scope, as Mastodon's streaming server: `read` or
`read:statuses`, and `read` or `read:notifications` for `user:notification`. Over the
WebSocket a refused subscription answers an error message and the socket stays open; over
SSE the request is refused with 401."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from tests.factories import create_token
from tests.social_factories import user_with_token
from tests.streaming.support import (
    api,
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
    from connecthub.accounts.models import Account
    from tests.conftest import LiveServer, TestEnv

SCOPE_ERROR = {"error": "Access token does not have the required scopes", "status": 401}


async def _list_of(server: LiveServer, token: str) -> str:
    created = await api(server, "POST", "/api/v1/lists", token, json={"title": "Friends"})
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def _streams(list_id: str) -> list[dict[str, Any]]:
    """One subscription per kind of stream, as a WebSocket message would name it."""
    return [
        {"stream": "public"},
        {"stream": "public:local"},
        {"stream": "public:media"},
        {"stream": "hashtag", "tag": "cats"},
        {"stream": "hashtag:local", "tag": "cats"},
        {"stream": "user"},
        {"stream": "direct"},
        {"stream": "list", "list": list_id},
    ]


def _sse_path(stream: dict[str, Any]) -> str:
    path = "/api/v1/streaming/" + stream["stream"].replace(":", "/")
    if "tag" in stream:
        return f"{path}?tag={stream['tag']}"
    if "list" in stream:
        return f"{path}?list={stream['list']}"
    return path


async def _owner(factory_app: FastAPI) -> tuple[Account, str]:
    return await user_with_token(factory_app, "alice")


async def test_a_write_only_token_opens_no_stream(test_env: TestEnv, factory_app: FastAPI) -> None:
    alice, alice_token = await _owner(factory_app)
    _bob, bob_token = await user_with_token(factory_app, "bob")
    write_only = await create_token(factory_app, alice.id, scopes=frozenset({"write"}))
    with servers(test_env, 1) as (server,):
        streams = _streams(await _list_of(server, alice_token))
        for stream in streams:
            async with sse_stream(server, _sse_path(stream), write_only) as sse:
                assert sse.status_code == 401, stream
                await sse.aread()
                assert sse.json() == {"error": SCOPE_ERROR["error"]}
        async with websocket(server, write_only, query={"stream": "public"}) as ws:
            assert await next_message(ws) == SCOPE_ERROR
            for stream in streams:
                await ws.send(json.dumps({"type": "subscribe", **stream}))
                assert await next_message(ws) == SCOPE_ERROR, stream
            # Nothing was subscribed: after a public post the next message is the answer to
            # a later request (any stream name is checked for scopes first, as Mastodon).
            await post_status(server, bob_token, "Hello #cats")
            await ws.send(json.dumps({"type": "subscribe", "stream": "nonexistent"}))
            assert await next_message(ws) == SCOPE_ERROR


async def test_read_statuses_opens_every_stream_but_notifications(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    alice, alice_token = await _owner(factory_app)
    _bob, bob_token = await user_with_token(factory_app, "bob")
    statuses = await create_token(factory_app, alice.id, scopes=frozenset({"read:statuses"}))
    with servers(test_env, 1) as (server,):
        streams = _streams(await _list_of(server, alice_token))
        for stream in streams:
            async with sse_stream(server, _sse_path(stream), statuses) as sse:
                assert sse.status_code == 200, stream
        refused = await api(server, "GET", "/api/v1/streaming/user/notification", statuses)
        assert refused.status_code == 401
        async with websocket(server, statuses) as ws:
            for stream in streams:
                await ws.send(json.dumps({"type": "subscribe", **stream}))
            await ws.send(json.dumps({"type": "subscribe", "stream": "user:notification"}))
            assert await next_message(ws) == SCOPE_ERROR
            await subscribed(ws, server, statuses)
            status = await post_status(server, bob_token, "Hello #cats")
            message, _ = await wait_for_message(ws, lambda m: m["stream"] == ["public"])
    assert payload(message)["id"] == status["id"]


async def test_the_notification_stream_needs_read_notifications(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    alice, _ = await _owner(factory_app)
    _bob, bob_token = await user_with_token(factory_app, "bob")
    notifications = await create_token(
        factory_app, alice.id, scopes=frozenset({"read:notifications"})
    )
    with servers(test_env, 1) as (server,):
        async with sse_stream(server, "/api/v1/streaming/public", notifications) as sse:
            assert sse.status_code == 401
        async with sse_stream(server, "/api/v1/streaming/user/notification", notifications) as sse:
            assert sse.status_code == 200
        async with websocket(server, notifications, query={"stream": "public"}) as ws:
            assert await next_message(ws) == SCOPE_ERROR
            await ws.send(json.dumps({"type": "subscribe", "stream": "user:notification"}))
            # The fence (see `subscribed`): this token's answer to a later request.
            await ws.send(json.dumps({"type": "subscribe", "stream": "nonexistent"}))
            assert await next_message(ws) == SCOPE_ERROR
            followed = await api(server, "POST", f"/api/v1/accounts/{alice.id}/follow", bob_token)
            assert followed.status_code == 200, followed.text
            message = await next_message(ws)
    assert message["stream"] == ["user:notification"]
    assert message["event"] == "notification"
