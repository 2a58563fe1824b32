"""Helpers for streaming tests: live servers (in-process, or real `connecthub serve`
processes for tests about the process), WebSocket and SSE
clients, and waiting for the event a test expects (a bound on waiting, never an assert
on how long something took)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import LiveServer, TestEnv, free_port, start_server, stop_process
from tests.engines import redis_url
from tests.servers import InProcessServer, start_inprocess_server
from tests.support import probe

WAIT_SECONDS = 15.0


def start_streaming_server(env: TestEnv, **environ: str) -> LiveServer:
    """A real server process whose LOCAL_DOMAIN is its own address, so clients that read
    the streaming URL from /api/v1/instance (Mastodon.py) find it."""
    port = free_port()
    environ.setdefault("LOCAL_DOMAIN", f"127.0.0.1:{port}")
    return start_server(env, port=port, **environ)


@contextlib.contextmanager
def servers(
    env: TestEnv, count: int, *, process: bool = False, **environ: str
) -> Iterator[list[Any]]:
    """`count` servers on the test's engines (each its own app, sharing only the engines,
    as separate processes would). In-process unless `process=True`: only tests about the
    process (signals, its log output) need a real `connecthub serve`."""
    started: list[LiveServer | InProcessServer] = []
    try:
        for _ in range(count):
            if process:
                started.append(start_streaming_server(env, **environ))
            else:
                started.append(start_inprocess_server(env, **environ))
        yield started
    finally:
        for server in started:
            if isinstance(server, InProcessServer):
                server.stop()
            else:
                stop_process(server.process)


def multi_process() -> bool:
    """Two server processes share events only through Redis; embedded mode has one."""
    return redis_url() is not None


def ws_url(server: LiveServer, **query: str) -> str:
    base = server.url.replace("http://", "ws://") + "/api/v1/streaming"
    if query:
        base += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return base


@contextlib.asynccontextmanager
async def websocket(
    server: LiveServer, token: str | None = None, *, via: str = "query", **kwargs: Any
) -> AsyncIterator[ClientConnection]:
    """A WebSocket to the server, authenticated the way `via` says (query, header or
    subprotocol)."""
    query = dict(kwargs.pop("query", {}))
    headers = dict(kwargs.pop("additional_headers", {}))
    subprotocols = None
    if token is not None and via == "query":
        query["access_token"] = token
    elif token is not None and via == "header":
        headers["Authorization"] = f"Bearer {token}"
    elif token is not None and via == "subprotocol":
        subprotocols = [token]
    async with connect(
        ws_url(server, **query),
        additional_headers=headers,
        subprotocols=subprotocols,  # type: ignore[arg-type]
        open_timeout=WAIT_SECONDS,
        **kwargs,
    ) as socket:
        yield socket


async def next_message(socket: ClientConnection) -> dict[str, Any]:
    raw = await asyncio.wait_for(socket.recv(), WAIT_SECONDS)
    return dict(json.loads(raw))


async def wait_for_message(
    socket: ClientConnection, match: Callable[[dict[str, Any]], bool]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The first message matching, and every message received before it."""
    before: list[dict[str, Any]] = []
    while True:
        message = await next_message(socket)
        if match(message):
            return message, before
        before.append(message)


def payload(message: dict[str, Any]) -> Any:
    return json.loads(message["payload"])


async def subscribed(socket: ClientConnection, server: LiveServer, token: str) -> None:
    """A fence: once the server answers a later request on this socket, earlier
    subscribe messages have been applied (messages are handled in order)."""
    await socket.send(json.dumps({"type": "subscribe", "stream": "nonexistent"}))
    message = await next_message(socket)
    assert message == {"error": "Unknown stream type", "status": 400}, message


@dataclass
class SseEvent:
    event: str
    data: str


async def sse_events(response: httpx.Response) -> AsyncIterator[SseEvent | str]:
    """Parsed SSE events; comment lines (heartbeats) come through as plain strings."""
    event, data = "", ""
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield line
        elif line.startswith("event:"):
            event = line.partition(":")[2].strip()
        elif line.startswith("data:"):
            data = line.partition(":")[2].strip()
        elif line == "" and event:
            yield SseEvent(event, data)
            event, data = "", ""


@contextlib.asynccontextmanager
async def sse_stream(
    server: LiveServer, path: str, token: str | None = None
) -> AsyncIterator[httpx.Response]:
    """An open SSE response (read its status, its events with `sse_events`); the stream is
    dropped on leaving."""
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(
            base_url=server.url, timeout=WAIT_SECONDS, verify=probe.ssl_context()
        ) as client,
        client.stream("GET", path, headers=headers) as response,
    ):
        yield response


async def api(
    server: LiveServer, method: str, path: str, token: str | None = None, **kwargs: Any
) -> httpx.Response:
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(
        base_url=server.url, timeout=WAIT_SECONDS, verify=probe.ssl_context()
    ) as client:
        return await client.request(method, path, headers=headers, **kwargs)


async def post_status(server: LiveServer, token: str, text: str, **fields: Any) -> dict[str, Any]:
    response = await api(server, "POST", "/api/v1/statuses", token, json={"status": text, **fields})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def block(app: Any, account_id: int, target_id: int) -> None:
    """A Block row written directly (the relationships API is the real way in)."""
    from connecthub.relationships.models import Block

    async with app.state.engines.db.transaction() as session:
        session.add(Block(account_id=account_id, target_account_id=target_id))


async def mute(app: Any, account_id: int, target_id: int) -> None:
    from connecthub.relationships.models import Mute

    async with app.state.engines.db.transaction() as session:
        session.add(Mute(account_id=account_id, target_account_id=target_id))
