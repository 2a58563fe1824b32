"""Connections end when they must: a revoked token or closed account (close 1008), a
server shutting down (1001, then the process exits), a consumer too slow to keep up.
And tokens never reach the logs."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from connecthub.oauth.identity import TokenInfo
from connecthub.streaming.hub import StreamingHub, close_account_streams
from tests.factories import DEFAULT_PASSWORD
from tests.social_factories import user_with_token
from tests.streaming.support import (
    WAIT_SECONDS,
    api,
    post_status,
    servers,
    sse_events,
    subscribed,
    websocket,
    ws_url,
)
from tests.support import probe

if TYPE_CHECKING:
    from tests.conftest import TestEnv


async def _oauth_token(server: object, email: str) -> tuple[dict[str, str], str]:
    app = (
        await api(
            server,  # type: ignore[arg-type]
            "POST",
            "/api/v1/apps",
            json={
                "client_name": "Stream",
                "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                "scopes": "read write",
            },
        )
    ).json()
    granted = await api(
        server,  # type: ignore[arg-type]
        "POST",
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": email,
            "password": DEFAULT_PASSWORD,
            "scope": "read write",
        },
    )
    assert granted.status_code == 200, granted.text
    return app, granted.json()["access_token"]


async def _close_code(ws: object) -> int | None:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), WAIT_SECONDS)  # type: ignore[attr-defined]
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


async def _count_until_closed(ws: object) -> int:
    """How many messages arrived before the server closed the socket."""
    received = 0
    try:
        while True:
            json.loads(await asyncio.wait_for(ws.recv(), WAIT_SECONDS))  # type: ignore[attr-defined]
            received += 1
    except ConnectionClosed:
        return received


async def test_revoked_token_closes_its_sockets_only(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    await user_with_token(factory_app, "alice")
    with servers(test_env, 1) as (server,):
        oauth_app, doomed = await _oauth_token(server, "alice@example.com")
        _, kept = await _oauth_token(server, "alice@example.com")
        async with (
            websocket(server, doomed, query={"stream": "user"}) as doomed_ws,
            websocket(server, kept, query={"stream": "user"}) as kept_ws,
        ):
            await subscribed(doomed_ws, server, doomed)
            revoked = await api(
                server,
                "POST",
                "/oauth/revoke",
                data={
                    "client_id": oauth_app["client_id"],
                    "client_secret": oauth_app["client_secret"],
                    "token": doomed,
                },
            )
            assert revoked.status_code == 200, revoked.text
            assert await _close_code(doomed_ws) == 1008
            await subscribed(kept_ws, server, kept)  # the other token's socket lives on
        refused = await api(server, "GET", "/api/v1/streaming/user", doomed)
        assert refused.status_code == 401


async def test_close_account_streams_closes_the_accounts_connections(
    factory_app: FastAPI,
) -> None:
    alice, _ = await user_with_token(factory_app, "alice")
    bob, _ = await user_with_token(factory_app, "bob")
    hub: StreamingHub = factory_app.state.streaming

    def token(account_id: int, token_id: int) -> TokenInfo:
        return TokenInfo(token_id, account_id, None, frozenset({"read"}), None)

    alice_session = await hub.open_session(token(alice.id, 1), "websocket")
    bob_session = await hub.open_session(token(bob.id, 2), "websocket")
    await close_account_streams(factory_app.state.engines, alice.id)
    assert await asyncio.wait_for(alice_session.closed, WAIT_SECONDS) == 1008
    assert not bob_session.closed.done()
    await hub.close_session(alice_session)
    await hub.close_session(bob_session)


@pytest.mark.processes
async def test_sigterm_closes_sockets_with_1001_and_exits(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    with servers(test_env, 1, process=True, SHUTDOWN_DRAIN_SECONDS="5") as (server,):
        async with (
            websocket(server, alice_token, query={"stream": "user"}) as first,
            websocket(server, alice_token, query={"stream": "public"}) as second,
        ):
            await subscribed(first, server, alice_token)
            await subscribed(second, server, alice_token)
            server.process.send_signal(signal.SIGTERM)
            assert await _close_code(first) == 1001
            assert await _close_code(second) == 1001
        exit_code = await asyncio.to_thread(server.process.wait, 5 + WAIT_SECONDS)
    # uvicorn re-raises the signal it handled once shut down, so the process ends "killed
    # by SIGTERM" after its graceful shutdown, like any uvicorn server.
    assert exit_code in (0, -signal.SIGTERM), server.logs()
    assert "Traceback" not in server.logs()


@pytest.mark.slow
async def test_slow_consumer_is_disconnected(test_env: TestEnv, factory_app: FastAPI) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    _bob, bob_token = await user_with_token(factory_app, "bob")
    big = "x" * 90_000 + " #flood"
    environ = {"STREAMING_MAX_PENDING": "2", "MAX_STATUS_CHARACTERS": "100000"}
    with servers(test_env, 1, **environ) as (server,):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
        url = ws_url(server, access_token=alice_token, stream="public")
        async with connect(url, sock=sock, max_size=None, max_queue=1) as ws:
            # Four streams carry each post: four large messages per post to buffer.
            for stream in ("public:local", "hashtag", "hashtag:local"):
                await ws.send(json.dumps({"type": "subscribe", "stream": stream, "tag": "flood"}))
            await subscribed(ws, server, alice_token)
            posted = 40
            for _ in range(posted):
                await post_status(server, bob_token, big)
            received = await _count_until_closed(ws)
    assert received < posted * 4


@pytest.mark.processes
async def test_tokens_never_appear_in_logs(test_env: TestEnv, factory_app: FastAPI) -> None:
    _alice, alice_token = await user_with_token(factory_app, "alice")
    with servers(test_env, 1, process=True, LOG_LEVEL="debug") as (server,):
        async with websocket(server, alice_token, query={"stream": "public"}) as ws:
            await subscribed(ws, server, alice_token)
        for via in ("subprotocol", "header"):
            async with websocket(server, alice_token, via=via) as ws:
                await subscribed(ws, server, alice_token)
        async with (
            httpx.AsyncClient(
                base_url=server.url, timeout=WAIT_SECONDS, verify=probe.ssl_context()
            ) as client,
            client.stream(
                "GET", f"/api/v1/streaming/public?access_token={alice_token}"
            ) as response,
        ):
            assert response.status_code == 200
            async for item in sse_events(response):
                assert isinstance(item, str)  # the opening comment
                break
        await api(server, "GET", "/api/v1/streaming/user?access_token=wrong-secret-value")
        await asyncio.sleep(0.5)  # let the server flush its log lines (not an assertion)
        logs = server.logs()
    assert "/api/v1/streaming" in logs  # debug logging saw the handshakes
    assert alice_token not in logs
    assert "wrong-secret-value" not in logs
