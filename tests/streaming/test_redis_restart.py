"""Issue 25 item 3: streaming never loses events silently across a Redis restart.

A server process follows its sockets' channels on one Redis pub/sub connection. When that
connection drops, what is published until it is back and resubscribed never reaches the
process (and what is committed while Redis is down is published nowhere), so every socket
it serves may miss events. The documented behaviour (docs/streaming.md, "Redis restarts"):
those sockets are closed with 1012 (Service Restart; SSE responses end) as soon as the drop
is seen, clients reconnect and catch up through REST. A socket is never open and silent.

The Redis is the test's own (tests/support/redis_server.py), killed with SIGKILL and
started again, once without persistence and once with an append-only file. Several sockets
share one server process: single-stream and multiplexed WebSockets, and SSE streams. While
Redis is down a mention is posted (owed to every socket if the server commits it): every
socket must be closed with 1012 (or have received it, which pub/sub cannot do) before Redis
is back. Then a mention is committed as soon as Redis is back, and the reconnected client
finds both through REST and receives the next one live. Waits are bounded; nothing asserts
how fast.

On the code before this change every socket stayed open across the outage (and, in most
runs, the mention committed right after the restart reached none of them: the process had
not resubscribed yet).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import free_port, running_app
from tests.engines import redis_url
from tests.social_factories import follow, user_with_token
from tests.streaming.support import (
    WAIT_SECONDS,
    api,
    servers,
    sse_events,
    subscribed,
    wait_for_message,
    websocket,
)
from tests.support import probe
from tests.support.redis_server import RedisProcess

if TYPE_CHECKING:
    from tests.conftest import TestEnv
    from tests.servers import InProcessServer

pytestmark = pytest.mark.skipif(
    redis_url() is None, reason="embedded mode has no Redis: its in-process bus has no gap"
)

SERVICE_RESTART = 1012
LISTENERS = 3


@pytest.fixture(params=["no-persistence", "appendonly"])
def restartable_redis(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedisProcess]:
    """A Redis of the test's own, without persistence or with an append-only file."""
    directory = tmp_path / "redis"
    directory.mkdir()
    redis = RedisProcess(free_port(), directory, appendonly=request.param == "appendonly")
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@dataclass
class Cast:
    author_token: str
    listeners: list[tuple[str, str]]  # (username, token), each following the author


@dataclass
class Verdict:
    """What one socket saw while Redis was down: the mentions it received, how it closed."""

    received: set[str] = field(default_factory=set)
    closed: bool = False
    close_code: int | None = None


@contextlib.asynccontextmanager
async def deployment(
    env: TestEnv, redis: RedisProcess
) -> AsyncIterator[tuple[InProcessServer, Cast]]:
    """One server process on `redis`, an author and listeners who follow the author."""
    async with running_app(env, redis_url=redis.url, jobs_in_server=False) as (app, _client):
        cast = await make_cast(app)
        with servers(env, 1, REDIS_URL=redis.url) as (server,):
            yield server, cast


async def make_cast(app: FastAPI) -> Cast:
    author, author_token = await user_with_token(app, "author")
    listeners = []
    for n in range(LISTENERS):
        account, token = await user_with_token(app, f"listener{n}")
        await follow(app, account.id, author.id)
        listeners.append((f"listener{n}", token))
    return Cast(author_token, listeners)


async def mention_everyone(server: InProcessServer, cast: Cast, text: str) -> str:
    """A public post mentioning every listener, committed; its status id."""
    mentions = " ".join(f"@{name}" for name, _token in cast.listeners)
    response = await api(
        server, "POST", "/api/v1/statuses", cast.author_token, json={"status": f"{mentions} {text}"}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def mention_of(message_event: str, data: Any) -> str | None:
    """The status id of a mention notification, from an event name and its payload."""
    if message_event != "notification":
        return None
    notification = json.loads(data) if isinstance(data, str) else data
    if notification.get("type") != "mention":
        return None
    return str(notification["status"]["id"])


def is_mention_of(status_id: str) -> Callable[[dict[str, Any]], bool]:
    """Matches the WebSocket message of the mention notification of `status_id`."""
    return lambda message: mention_of(message["event"], message.get("payload")) == status_id


async def restart(redis: RedisProcess) -> None:
    await asyncio.to_thread(redis.start)


async def kill(redis: RedisProcess) -> None:
    await asyncio.to_thread(redis.kill)


# -- WebSockets --------------------------------------------------------------------------


async def watch_websocket(socket: ClientConnection, wanted: set[str]) -> Verdict:
    """Read until the socket closes, or every wanted mention arrived (none wanted: until it
    closes), bounded by WAIT_SECONDS."""
    verdict = Verdict()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while not (wanted and wanted <= verdict.received):
        remaining = deadline - loop.time()
        if remaining <= 0:
            return verdict  # open, and silent about what it was owed
        try:
            raw = await asyncio.wait_for(socket.recv(), remaining)
        except TimeoutError:
            return verdict
        except ConnectionClosed as closed:
            verdict.closed = True
            verdict.close_code = closed.rcvd.code if closed.rcvd is not None else None
            return verdict
        message = json.loads(raw)
        status_id = mention_of(message.get("event", ""), message.get("payload"))
        if status_id is not None:
            verdict.received.add(status_id)
    return verdict


async def open_websockets(
    stack: contextlib.AsyncExitStack, server: InProcessServer, cast: Cast
) -> list[ClientConnection]:
    """Per listener: one single-stream socket (`?stream=user`) and one multiplexed socket
    (user and public subscribed by message); each proven subscribed."""
    sockets = []
    for _name, token in cast.listeners:
        single = await stack.enter_async_context(websocket(server, token, query={"stream": "user"}))
        multiplexed = await stack.enter_async_context(websocket(server, token))
        for stream in ("user", "public"):
            await multiplexed.send(json.dumps({"type": "subscribe", "stream": stream}))
        for socket in (single, multiplexed):
            await subscribed(socket, server, token)
        sockets += [single, multiplexed]
    return sockets


async def reconnect_websocket(
    stack: contextlib.AsyncExitStack, server: InProcessServer, token: str
) -> ClientConnection:
    """As a client told 1012 does: connect again, retrying refused handshakes (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS * 2
    while True:
        try:
            socket = await stack.enter_async_context(
                websocket(server, token, query={"stream": "user"})
            )
        except InvalidStatus as refused:
            status = refused.response.status_code
        else:
            await subscribed(socket, server, token)
            return socket
        assert status == 503, status  # Redis not back yet: told to retry, nothing else
        assert loop.time() < deadline, "no streaming handshake succeeded after the restart"
        await asyncio.sleep(0.2)


async def test_websockets_across_a_redis_restart_get_every_event_or_1012(
    test_env: TestEnv, restartable_redis: RedisProcess
) -> None:
    redis = restartable_redis
    async with deployment(test_env, redis) as (server, cast), contextlib.AsyncExitStack() as stack:
        sockets = await open_websockets(stack, server, cast)
        before = await mention_everyone(server, cast, "before the restart")
        for socket in sockets:
            await wait_for_message(socket, is_mention_of(before))

        await kill(redis)
        during = await committed_while_down(server, cast)
        # Until the process hears Redis again, nothing reaches these sockets: each must be
        # closed (or have received what it is owed) while Redis is still down.
        verdicts = await asyncio.gather(*(watch_websocket(s, during) for s in sockets))
        assert_every_socket_got_everything_or_1012(verdicts, during)

        await restart(redis)
        after = await mention_after_restart(server, cast)

        # What a client does on 1012: reconnect, fetch what it missed, follow the stream.
        fresh = [await reconnect_websocket(stack, server, token) for _n, token in cast.listeners]
        for _name, token in cast.listeners:
            await caught_up_through_rest(server, token, before, during | {after})
        live = await mention_everyone(server, cast, "after reconnecting")
        for socket in fresh:
            await wait_for_message(socket, is_mention_of(live))


# -- SSE ---------------------------------------------------------------------------------


async def open_sse(
    stack: contextlib.AsyncExitStack, server: InProcessServer, cast: Cast
) -> list[tuple[httpx.Response, AsyncIterator[Any]]]:
    """Per listener one `user` SSE stream, and one `user/notification` stream; a 503 (the
    process not resubscribed yet after a restart) is retried, as told (bounded)."""
    streams = []
    for _name, token in cast.listeners:
        for path in ("/api/v1/streaming/user", "/api/v1/streaming/user/notification"):
            streams.append(await open_one_sse(stack, server, path, token))
    return streams


async def open_one_sse(
    stack: contextlib.AsyncExitStack, server: InProcessServer, path: str, token: str
) -> tuple[httpx.Response, AsyncIterator[Any]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS * 2
    client = await stack.enter_async_context(
        httpx.AsyncClient(base_url=server.url, timeout=WAIT_SECONDS, verify=probe.ssl_context())
    )
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        response = await stack.enter_async_context(client.stream("GET", path, headers=headers))
        if response.status_code == 200:
            events = sse_events(response).__aiter__()
            assert await anext(events) == ":)"  # subscribed before the response started
            return response, events
        assert response.status_code == 503, response.status_code
        assert response.headers["retry-after"] == "5"
        assert loop.time() < deadline, "no SSE stream opened after the restart"
        await response.aclose()
        await asyncio.sleep(0.2)


async def watch_sse(events: AsyncIterator[Any], wanted: set[str]) -> Verdict:
    """As `watch_websocket`; an SSE stream "closes" when the server ends the response."""
    verdict = Verdict()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while not (wanted and wanted <= verdict.received):
        remaining = deadline - loop.time()
        if remaining <= 0:
            return verdict
        try:
            event = await asyncio.wait_for(anext(events), remaining)
        except TimeoutError:
            return verdict
        except StopAsyncIteration:
            verdict.closed = True  # the server ended the response: the client reconnects
            return verdict
        if isinstance(event, str):
            continue  # a heartbeat
        status_id = mention_of(event.event, event.data)
        if status_id is not None:
            verdict.received.add(status_id)
    return verdict


async def next_mention(events: AsyncIterator[Any], status_id: str) -> None:
    async def seen() -> None:
        async for event in events:
            if not isinstance(event, str) and mention_of(event.event, event.data) == status_id:
                return
        raise AssertionError("the stream ended before the mention")

    await asyncio.wait_for(seen(), WAIT_SECONDS)


async def test_sse_streams_across_a_redis_restart_get_every_event_or_end(
    test_env: TestEnv, restartable_redis: RedisProcess
) -> None:
    redis = restartable_redis
    async with deployment(test_env, redis) as (server, cast), contextlib.AsyncExitStack() as stack:
        streams = await open_sse(stack, server, cast)
        before = await mention_everyone(server, cast, "before the restart")
        for _response, events in streams:
            await next_mention(events, before)

        await kill(redis)
        during = await committed_while_down(server, cast)
        verdicts = await asyncio.gather(*(watch_sse(events, during) for _r, events in streams))
        assert_every_socket_got_everything_or_1012(verdicts, during, close_code=None)

        await restart(redis)
        after = await mention_after_restart(server, cast)
        for _name, token in cast.listeners:
            await caught_up_through_rest(server, token, before, during | {after})
        # A new stream (what EventSource opens when a response ends) is live again.
        renewed = await open_sse(stack, server, cast)
        live = await mention_everyone(server, cast, "after reconnecting")
        for _response, events in renewed:
            await next_mention(events, live)


# -- shared steps ------------------------------------------------------------------------


async def committed_while_down(server: InProcessServer, cast: Cast) -> set[str]:
    """A mention posted while Redis is down: if the server commits it (answers 200), no
    pub/sub can carry its event, and it is owed to every socket all the same; a 503 (the
    server refused the write) commits nothing and owes nothing."""
    mentions = " ".join(f"@{name}" for name, _token in cast.listeners)
    text = f"{mentions} while Redis is down"
    response = await api(
        server, "POST", "/api/v1/statuses", cast.author_token, json={"status": text}
    )
    if response.status_code == 503:
        return set()
    assert response.status_code == 200, response.text
    return {str(response.json()["id"])}


async def mention_after_restart(server: InProcessServer, cast: Cast) -> str:
    """A mention committed once Redis is back, retried while the server still answers 503
    (as a client told `Retry-After` would)."""
    return await eventually_ok(lambda: mention_everyone(server, cast, "after the restart"))


async def eventually_ok(attempt: Callable[[], Awaitable[str]]) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS * 2
    while True:
        try:
            return await attempt()
        except AssertionError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)


def assert_every_socket_got_everything_or_1012(
    verdicts: list[Verdict], owed: set[str], close_code: int | None = SERVICE_RESTART
) -> None:
    """Each socket was closed with `close_code` (SSE has none: the response ended), or
    received every mention owed to it — and a socket owed nothing yet still had to close:
    it was open while its process could hear nothing. Never open and silent."""
    for n, verdict in enumerate(verdicts):
        if verdict.closed:
            assert verdict.close_code == close_code, (n, verdict)
        else:
            assert owed, f"socket {n} stayed open while Redis was down: {verdict}"
            assert owed <= verdict.received, f"socket {n} open and silent: {verdict}"


async def caught_up_through_rest(
    server: InProcessServer, token: str, last_seen_status: str, owed: set[str]
) -> None:
    """The client's catch-up: its notifications hold the last mention it saw live and every
    mention committed since (the one committed while Redis was down included)."""
    response = await api(server, "GET", "/api/v1/notifications", token)
    assert response.status_code == 200, response.text
    notified = [n["status"]["id"] for n in response.json() if n["type"] == "mention"]
    assert owed <= set(notified), (owed, notified)
    assert last_seen_status in notified
