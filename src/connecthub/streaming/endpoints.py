"""Thin transports over StreamSession: the WebSocket at /api/v1/streaming (with
multiplexed subscribe/unsubscribe) and one SSE endpoint per stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

import structlog
from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect

from connecthub.http.client_ip import ClientIpResolver
from connecthub.http.ip_gate import IpGate, refuse_websocket
from connecthub.http.request_context import bind_request_context
from connecthub.infra.engines import Engines
from connecthub.streaming.handshake import (
    authenticate_stream,
    offered_subprotocol,
    origin_allowed,
)
from connecthub.streaming.hub import StreamingHub
from connecthub.streaming.session import (
    CLOSE_NORMAL,
    StreamSession,
    sse_message,
    websocket_message,
)
from connecthub.streaming.streams import Stream, StreamError, StreamUnavailable, resolve

log = structlog.get_logger(__name__)
router = APIRouter(tags=["streaming"])

_CLOSE_TIMEOUT_SECONDS = 1.0
# A handshake an engine could not serve (database or Redis down, a pool exhausted).
_RETRY_LATER = {"Retry-After": "5"}


def _hub(app: Any) -> StreamingHub:
    hub: StreamingHub = app.state.streaming
    return hub


@router.get("/api/v1/streaming/health", response_class=PlainTextResponse)
async def health() -> str:
    return "OK"


# -- WebSocket --------------------------------------------------------------------------


async def websocket_stream(websocket: WebSocket) -> None:
    hub = _hub(websocket.app)
    engines: Engines = websocket.app.state.engines
    if not origin_allowed(websocket.scope, engines.settings):
        await _deny(websocket, 403, "Origin not allowed")
        return
    if hub.draining:
        await _deny(websocket, 503, "Server is shutting down")
        return
    try:
        token = await authenticate_stream(websocket.scope, engines)
        # Before accepting, so that a token or account over its connection cap is refused
        # at the handshake (429).
        session = await hub.open_session(token, "websocket")
    except StreamError as exc:
        await _deny(websocket, exc.status, exc.message, exc.headers)
        return
    except Exception:
        # An engine that cannot answer (pool exhausted, Redis down): try again later.
        log.exception("streaming.handshake_failed")
        await _deny(websocket, 503, "Service unavailable, try again", _RETRY_LATER)
        return
    try:
        # The `stream` of the URL is subscribed before the handshake completes, so an open
        # socket already receives what is published on it (a Mastodon error about the
        # stream itself is sent once open, and the socket stays open, as Mastodon does).
        try:
            refused = await _subscribe_query(session, dict(websocket.query_params))
        except StreamUnavailable as exc:
            await _deny(websocket, exc.status, exc.message, exc.headers)
            return
        except Exception:
            log.exception("streaming.handshake_failed")
            await _deny(websocket, 503, "Service unavailable, try again", _RETRY_LATER)
            return
        await websocket.accept(subprotocol=offered_subprotocol(websocket.scope))
        if refused is not None:
            await _send_error(websocket, refused.status, refused.message)
        await _serve_websocket(websocket, session)
    finally:
        await hub.close_session(session)


async def _subscribe_query(session: StreamSession, query: dict[str, str]) -> StreamError | None:
    """Subscribe the stream the URL names, if any; a refusal to tell the client, or
    StreamUnavailable when the bus could not confirm it."""
    if "stream" not in query:
        return None
    try:
        await session.subscribe(await _resolve(session, query))
    except StreamUnavailable:
        raise
    except StreamError as exc:
        return exc
    return None


async def _deny(
    websocket: WebSocket, status: int, message: str, headers: dict[str, str] | None = None
) -> None:
    _refused.set(True)
    await websocket.send_denial_response(
        JSONResponse({"error": message}, status_code=status, headers=headers)
    )


# uvicorn's sansio WebSocket protocol counts only an accepted or closed socket as answered,
# and logs this line at error level after a denial response it has sent in full. A refusal
# is an answer, not a failure: the filter drops that one line, for handshakes `_deny`
# refused and nothing else (the flag lives in the connection task's context).
_refused: ContextVar[bool] = ContextVar("streaming_refused", default=False)
_UNANSWERED_HANDSHAKE = "ASGI callable returned without completing handshake."


class _RefusalIsNotAnError(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_refused.get() and record.getMessage() == _UNANSWERED_HANDSHAKE)


def _quiet_refusals() -> None:
    server_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _RefusalIsNotAnError) for f in server_log.filters):
        server_log.addFilter(_RefusalIsNotAnError())


async def _serve_websocket(websocket: WebSocket, session: StreamSession) -> None:
    pump = asyncio.create_task(_pump(websocket, session))
    reader = asyncio.create_task(_read(websocket, session))
    try:
        code = await session.closed
    finally:
        for task in (pump, reader):
            task.cancel()
        for task in (pump, reader):
            with contextlib.suppress(BaseException):
                await task
    if code is not None:
        # A slow consumer's socket may not drain: never wait on it for long.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(websocket.close(code), _CLOSE_TIMEOUT_SECONDS)


async def _pump(websocket: WebSocket, session: StreamSession) -> None:
    try:
        while True:
            for stream, name, payload in await session.next_deliveries():
                await websocket.send_text(websocket_message(stream, name, payload))
    except (WebSocketDisconnect, RuntimeError, OSError):
        session.close(CLOSE_NORMAL)


async def _read(websocket: WebSocket, session: StreamSession) -> None:
    """Client messages: `{"type": "subscribe"|"unsubscribe", "stream", "tag"?, "list"?}`."""
    try:
        while True:
            raw = await websocket.receive_text()
            try:
                message = json.loads(raw)
            except (ValueError, RecursionError):  # deep nesting: the parser's recursion
                await _send_error(websocket, 400, "Could not parse message")
                continue
            if not isinstance(message, dict):
                await _send_error(websocket, 400, "Could not parse message")
                continue
            kind = message.get("type")
            if kind == "subscribe":
                await _subscribe(websocket, session, message)
            elif kind == "unsubscribe":
                await _unsubscribe(websocket, session, message)
            else:
                await _send_error(websocket, 400, "Unknown message type")
    except (WebSocketDisconnect, RuntimeError, OSError, KeyError):
        pass
    session.close(CLOSE_NORMAL)


def _param(message: dict[str, Any], name: str) -> str | None:
    """A text or number parameter; anything else (an array, an object) is no value."""
    value = message.get(name)
    return str(value) if isinstance(value, str | int) else None


async def _resolve(session: StreamSession, message: dict[str, Any]) -> Stream:
    """The stream a subscribe/unsubscribe message names, or StreamError."""
    return await resolve(
        session.engines,
        session.token,
        str(message.get("stream", "")),
        tag=_param(message, "tag"),
        list_id=_param(message, "list"),
    )


async def _subscribe(websocket: WebSocket, session: StreamSession, message: dict[str, Any]) -> None:
    """Errors are answered with Mastodon's error message; the socket stays open, unless the
    bus could not confirm the stream: the session is then closing with 1012."""
    try:
        await session.subscribe(await _resolve(session, message))
    except StreamUnavailable:
        return
    except StreamError as exc:
        await _send_error(websocket, exc.status, exc.message)


async def _unsubscribe(
    websocket: WebSocket, session: StreamSession, message: dict[str, Any]
) -> None:
    try:
        stream = await _resolve(session, message)
    except StreamError as exc:
        await _send_error(websocket, exc.status, exc.message)
        return
    await session.unsubscribe(stream.key)


async def _send_error(websocket: WebSocket, status: int, message: str) -> None:
    await websocket.send_text(json.dumps({"error": message, "status": status}))


STREAMING_PATH = "/api/v1/streaming"


class WebSocketShortcut:
    """Serve the streaming WebSocket ahead of `app`'s middleware and routing.

    A streaming socket stays open for hours, and every ASGI layer it passes through stays
    suspended with it: the middleware stack and the router are ~25 coroutine frames, about
    10 KiB per socket, a quarter of what ten thousand sockets cost. None of those layers
    acts on a WebSocket except to give it a request id for the logs, which is done here.
    A middleware class with `.app`, so tools that walk the stack (FastAPI looks for
    OpenTelemetry's middleware in it) still see everything below.
    """

    def __init__(self, app: ASGIApp, resolver: ClientIpResolver, ip_gate: IpGate) -> None:
        self.app = app
        self.resolver = resolver
        self.ip_gate = ip_gate  # `no_access` IP blocks, as the edge refuses them
        _quiet_refusals()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"].rstrip("/") == STREAMING_PATH:
            _request_id, client_ip = bind_request_context(scope, self.resolver)
            if self.ip_gate.refuses(client_ip):
                await refuse_websocket(receive, send)
                return
            await websocket_stream(WebSocket(scope, receive, send))
            return
        await self.app(scope, receive, send)


# -- Server-sent events -----------------------------------------------------------------

_SSE_STREAMS = {
    "user": "user",
    "user/notification": "user:notification",
    "public": "public",
    "public/local": "public:local",
    "public/media": "public:media",
    "public/local/media": "public:local:media",
    "hashtag": "hashtag",
    "hashtag/local": "hashtag:local",
    "list": "list",
    "direct": "direct",
}


def _sse_route(path: str, stream_name: str) -> None:
    async def endpoint(request: Request) -> Any:
        return await _serve_sse(request, stream_name)

    endpoint.__name__ = f"stream_{stream_name.replace(':', '_')}"
    router.add_api_route(
        f"/api/v1/streaming/{path}",
        endpoint,
        methods=["GET"],
        summary=f"Server-sent events of the `{stream_name}` stream",
        response_class=StreamingResponse,
    )


async def _serve_sse(request: Request, stream_name: str) -> Any:
    hub = _hub(request.app)
    engines: Engines = request.app.state.engines
    if hub.draining:
        return JSONResponse({"error": "Server is shutting down"}, status_code=503)
    try:
        token = await authenticate_stream(request.scope, engines)
        stream = await resolve(
            engines,
            token,
            stream_name,
            tag=request.query_params.get("tag"),
            list_id=request.query_params.get("list"),
        )
        session = await hub.open_session(token, "sse")
    except StreamError as exc:
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)
    except Exception:
        log.exception("streaming.handshake_failed")
        return JSONResponse(
            {"error": "Service unavailable, try again"}, status_code=503, headers=_RETRY_LATER
        )
    try:
        await session.subscribe(stream)
    except StreamUnavailable as exc:
        await hub.close_session(session)
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)
    except BaseException:
        await hub.close_session(session)
        raise
    heartbeat = engines.settings.streaming_heartbeat_seconds
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return _SseResponse(
        hub,
        session,
        _sse_events(hub, session, heartbeat),
        media_type="text/event-stream",
        headers=headers,
    )


class _SseResponse(StreamingResponse):
    """Closes its session however the response ends: the events generator does it too,
    but only once started, and a client gone before the first chunk never starts it (its
    connection slot would stay taken)."""

    def __init__(
        self, hub: StreamingHub, session: StreamSession, *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._hub = hub
        self._session = session

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._hub.close_session(self._session)


async def _sse_events(
    hub: StreamingHub, session: StreamSession, heartbeat: float
) -> AsyncIterator[str]:
    pending: asyncio.Task[Any] | None = None
    try:
        yield ":)\n"
        while not session.closed.done():
            if pending is None:
                pending = asyncio.create_task(session.next_deliveries())
            done, _ = await asyncio.wait(
                {pending, session.closed}, timeout=heartbeat, return_when="FIRST_COMPLETED"
            )
            if pending in done:
                deliveries, pending = pending.result(), None
                for _stream, name, payload in deliveries:
                    yield sse_message(name, payload)
            elif not done:
                yield ":thump\n"
    finally:
        if pending is not None:
            pending.cancel()
        await hub.close_session(session)


for _path, _name in _SSE_STREAMS.items():
    _sse_route(_path, _name)
