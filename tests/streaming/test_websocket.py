"""The WebSocket endpoint against a real server: authentication, Mastodon's message
shape, multiplexing, topic streams with per-recipient filtering, and the origin check."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.social_factories import follow, user_with_token
from tests.streaming.support import (
    WAIT_SECONDS,
    api,
    block,
    mute,
    next_message,
    payload,
    post_status,
    servers,
    subscribed,
    wait_for_message,
    websocket,
)

if TYPE_CHECKING:
    from tests.conftest import TestEnv


async def test_health(test_env: TestEnv) -> None:
    with servers(test_env, 1) as (server,):
        response = await api(server, "GET", "/api/v1/streaming/health")
    assert response.status_code == 200
    assert response.text == "OK"


@pytest.mark.parametrize("via", ["query", "header", "subprotocol"])
async def test_public_stream_in_mastodon_shape(
    test_env: TestEnv, factory_app: FastAPI, via: str
) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    _bob, bob_token = await user_with_token(factory_app, "bob")
    with servers(test_env, 1) as (server,):
        async with websocket(server, alice_token, via=via, query={"stream": "public"}) as ws:
            if via == "subprotocol":
                assert ws.subprotocol == alice_token
            await subscribed(ws, server, alice_token)
            status = await post_status(server, bob_token, "Hello world")
            message = await next_message(ws)
    assert message["stream"] == ["public"]
    assert message["event"] == "update"
    assert isinstance(message["payload"], str)
    assert payload(message)["id"] == status["id"]
    assert payload(message)["content"] == status["content"]


async def test_handshake_refuses_a_missing_or_bad_token(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    with servers(test_env, 1) as (server,):
        for token in (None, "not-a-token"):
            with pytest.raises(InvalidStatus) as refused:
                async with websocket(server, token, query={"stream": "public"}):
                    pass
            assert refused.value.response.status_code == 401


async def test_the_socket_is_served_with_a_trailing_slash_and_nowhere_else(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    """The streaming socket is dispatched ahead of the router (it keeps no middleware
    frames alive): that shortcut must serve its path, with or without the slash Mastodon
    clients sometimes add, and leave every other WebSocket path to the router."""
    _alice, token = await user_with_token(factory_app, "alice")
    _bob, bob_token = await user_with_token(factory_app, "bob")
    with servers(test_env, 1) as (server,):
        base = server.url.replace("http://", "ws://")
        async with connect(
            f"{base}/api/v1/streaming/?stream=public&access_token={token}",
            open_timeout=WAIT_SECONDS,
        ) as ws:
            await subscribed(ws, server, token)
            status = await post_status(server, bob_token, "Through the slash")
            message = await next_message(ws)
        assert payload(message)["id"] == status["id"]
        for path in ("/api/v1/streaming/user", "/api/v1/streamingx", "/nowhere"):
            with pytest.raises(InvalidStatus) as refused:
                async with connect(f"{base}{path}?access_token={token}", open_timeout=5):
                    pass
            assert refused.value.response.status_code == 403, path


async def test_subscribe_and_unsubscribe_on_one_socket(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    _bob, bob_token = await user_with_token(factory_app, "bob")
    with servers(test_env, 1) as (server,):
        async with websocket(server, alice_token) as ws:
            await ws.send(json.dumps({"type": "subscribe", "stream": "public"}))
            await ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "Cats"}))
            await subscribed(ws, server, alice_token)
            first = await post_status(server, bob_token, "Look #cats")
            got = [await next_message(ws), await next_message(ws)]
            assert sorted(tuple(m["stream"]) for m in got) == [("hashtag", "cats"), ("public",)]
            assert {payload(m)["id"] for m in got} == {first["id"]}

            await ws.send(json.dumps({"type": "unsubscribe", "stream": "public"}))
            await ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "dogs"}))
            await subscribed(ws, server, alice_token)
            second = await post_status(server, bob_token, "Still #cats")
            fence = await post_status(server, bob_token, "Now #dogs")
            message, before = await wait_for_message(
                ws, lambda m: m["stream"] == ["hashtag", "dogs"]
            )
    assert payload(message)["id"] == fence["id"]
    # After unsubscribing from public, only the hashtag stream carried the second post.
    assert [(m["stream"], payload(m)["id"]) for m in before] == [
        (["hashtag", "cats"], second["id"])
    ]


async def test_bad_subscriptions_answer_with_mastodon_errors(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    with servers(test_env, 1) as (server,):
        async with websocket(server, alice_token) as ws:
            await ws.send(json.dumps({"type": "subscribe", "stream": "hashtag"}))
            assert await next_message(ws) == {"error": "No tag for stream provided", "status": 400}
            await ws.send(json.dumps({"type": "subscribe", "stream": "list", "list": "12345"}))
            missing = await next_message(ws)
            assert missing["status"] == 404
            await ws.send("not json")
            assert (await next_message(ws))["status"] == 400


async def test_malformed_messages_are_answered_and_the_socket_keeps_working(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    _bob, bob_token = await user_with_token(factory_app, "bob")
    deep = "[" * 100_000 + "]" * 100_000
    with servers(test_env, 1) as (server,):
        async with websocket(server, alice_token) as ws:
            # Nested past any parser's depth, as a whole message and as a parameter.
            await ws.send(deep)
            assert (await next_message(ws))["status"] == 400
            await ws.send('{"type": "subscribe", "stream": "hashtag", "tag": ' + deep + "}")
            assert (await next_message(ws))["status"] == 400
            await ws.send(json.dumps({"type": "subscribe", "stream": "list", "list": {"a": 1}}))
            assert (await next_message(ws))["status"] in (400, 404)
            # The same socket still subscribes and delivers.
            await ws.send(json.dumps({"type": "subscribe", "stream": "public"}))
            await subscribed(ws, server, alice_token)
            posted = await post_status(server, bob_token, "still here")
            message, _ = await wait_for_message(ws, lambda m: m["stream"] == ["public"])
    assert payload(message)["id"] == posted["id"]


async def test_blocked_and_muted_authors_never_reach_topic_streams(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    alice, alice_token = await user_with_token(factory_app, "alice")
    blocker, blocker_token = await user_with_token(factory_app, "blocker")
    blocked, blocked_token = await user_with_token(factory_app, "blocked")
    muted, muted_token = await user_with_token(factory_app, "muted")
    _bob, bob_token = await user_with_token(factory_app, "bob")
    await block(factory_app, alice.id, blocked.id)
    await block(factory_app, blocker.id, alice.id)  # alice is blocked by them
    await mute(factory_app, alice.id, muted.id)
    await follow(factory_app, alice.id, blocker.id)
    with servers(test_env, 1) as (server,):
        async with websocket(server, alice_token) as ws:
            for stream in ({"stream": "public"}, {"stream": "hashtag", "tag": "news"}):
                await ws.send(json.dumps({"type": "subscribe", **stream}))
            await ws.send(json.dumps({"type": "subscribe", "stream": "user"}))
            await subscribed(ws, server, alice_token)
            hidden_ids = set()
            for token in (blocked_token, blocker_token, muted_token):
                hidden_ids.add((await post_status(server, token, "Hidden #news"))["id"])
            fence = await post_status(server, bob_token, "Visible #news")
            seen_fences = 0
            before_all = []
            while seen_fences < 2:
                _fence, before = await wait_for_message(
                    ws, lambda m: m["event"] == "update" and payload(m)["id"] == fence["id"]
                )
                seen_fences += 1
                before_all.extend(before)
    leaked = [m for m in before_all if m["event"] == "update" and payload(m)["id"] in hidden_ids]
    assert leaked == []


async def test_token_authenticated_web_clients_stream_from_any_origin(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    """Mastodon authenticates streaming by token and filters no origin, so web clients
    served from their own domains stream by default."""
    _alice, alice_token = await user_with_token(factory_app, "alice")
    _bob, bob_token = await user_with_token(factory_app, "bob")
    with servers(test_env, 1) as (server,):
        for via in ("query", "subprotocol"):
            async with websocket(server, alice_token, via=via, origin="https://elk.example") as ws:
                await ws.send(json.dumps({"type": "subscribe", "stream": "public"}))
                await subscribed(ws, server, alice_token)
                status = await post_status(server, bob_token, f"Hello from {via}")
                message = await next_message(ws)
                assert payload(message)["id"] == status["id"]


async def test_a_web_session_cookie_opens_no_socket(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    """The socket is authenticated by token only: a page on another origin cannot borrow
    the browser's sign-in cookie (cross-site WebSocket hijacking)."""
    from connecthub.accounts.models import WebSession
    from connecthub.oauth.tokens import generate_secret, hash_secret
    from tests.factories import create_user

    _account, user = await create_user(factory_app, "alice")
    secret = generate_secret()
    async with factory_app.state.engines.db.transaction() as session:
        session.add(WebSession(user_id=user.id, secret_hash=hash_secret(secret)))
    with servers(test_env, 1) as (server,), pytest.raises(InvalidStatus) as refused:
        async with websocket(
            server,
            origin="https://evil.example",
            additional_headers={"Cookie": f"connecthub_session={secret}"},
        ):
            pass
    assert refused.value.response.status_code == 401


@pytest.mark.processes
async def test_an_origin_allow_list_refuses_other_browsers_quietly(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    allowed = "https://app.example"
    with servers(test_env, 1, process=True, STREAMING_ALLOWED_ORIGINS=allowed) as (server,):
        for via in ("query", "header", "subprotocol"):
            with pytest.raises(InvalidStatus) as refused:
                async with websocket(server, alice_token, via=via, origin="https://evil.example"):
                    pass
            assert refused.value.response.status_code == 403
            assert json.loads(refused.value.response.body) == {"error": "Origin not allowed"}
        async with websocket(server, alice_token, origin=allowed) as ws:
            await subscribed(ws, server, alice_token)
        same_origin = server.url
        async with websocket(server, alice_token, origin=same_origin) as ws:
            await subscribed(ws, server, alice_token)
        async with websocket(server, alice_token) as ws:  # no Origin: not a browser
            await subscribed(ws, server, alice_token)
        with pytest.raises(InvalidStatus) as no_token:
            async with websocket(server, None, origin=allowed):
                pass
        assert no_token.value.response.status_code == 401
        logs = server.logs()
    # A refusal is an answer, not a failure: no ASGI error, no traceback.
    assert "ASGI" not in logs, logs
    assert "Traceback" not in logs, logs
    assert '"level": "error"' not in logs, logs
