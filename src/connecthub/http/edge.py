"""The one HTTP middleware layer: every request's edge concerns, as one ASGI callable.

Each concern keeps its own module and is called here as a plain function, in the order a
request meets them (outer first):

1. request context (http/request_context.py): request id, client address; at the end the
   access line and HTTP metrics; an address under a `no_access` IP block is refused at
   once with a 403 (http/ip_gate.py: an in-process check, no engine asked);
2. CORS preflight answers (http/security.py);
3. body limit (http/body_limit.py): a declared body over the limit is a 413 at once, a
   streamed one when it crosses it;
4. rate limits (http/ratelimit.py): a 429, or the `X-RateLimit-*` headers to add;
5. unhandled errors (http/errors.py): any bug is a JSON 500, an engine outage a 503;
6. input check (http/inputs.py): malformed path, query or body is a 404 / 422;
7. compression (http/compression.py) of the app's answer, for a client that accepts it.

Every response start gets, in this order, the rate-limit headers (not on the answers of
steps 1-3), CORS (`Vary: Origin`, and the any-origin headers when the request named an
origin) on the API paths, the security headers, and `X-Request-Id`. Where the server takes
a header block (`connecthub serve`: http/responses.HEADER_BLOCK) they go as one block of
lines rendered once per combination, instead of pairs uvicorn checks one by one.

It replaced seven nested middleware classes, each wrapping `send` (and some `receive`) in
its own closure and coroutine frame: one layer, one `send` wrapper (docs/benchmarks.md,
"The request stack").
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connecthub.config import Settings
from connecthub.errors import ConnectHubError
from connecthub.http import body_limit, compression, security
from connecthub.http.client_ip import ClientIpResolver
from connecthub.http.errors import answer_unhandled, error_response
from connecthub.http.inputs import check_input
from connecthub.http.ip_gate import IpGate, refuse_websocket
from connecthub.http.ratelimit import EdgeRateLimits, Verdict
from connecthub.http.request_context import bind_request_context, record_access
from connecthub.http.responses import HEADER_BLOCK, header_lines

Headers = list[tuple[bytes, bytes]]
_NO_HEADERS: Headers = []
_NO_EXTENSIONS: dict[str, Any] = {}
# Mastodon answers a blocked address with a bare 403; ours is the API's usual error body.
ACCESS_REFUSED = "This action is not allowed"


# The headers this layer adds (any letter case): a route that sets one of them itself
# gets the others merged in one by one, as pairs; any other answer gets them as one block
# rendered once (below) where the server takes it (http/responses.HEADER_BLOCK).
_ADDED_NAMES = frozenset(
    {
        b"vary",
        b"access-control-allow-origin",
        b"access-control-expose-headers",
        b"x-request-id",
        b"x-ratelimit-limit",
        b"x-ratelimit-remaining",
        b"x-ratelimit-reset",
        b"retry-after",
    }
    | {name for name, _ in security.security_headers(b"same-origin", https=True)}
)
_FIXED_BLOCKS: dict[tuple[bool, bool, bytes, bool], bytes] = {}


def _fixed_block(cors: bool, origin: bool, opener_policy: bytes, https: bool) -> bytes:
    """CORS and security headers as lines, for an answer that set none of them: made once
    for each of the few combinations."""
    key = (cors, origin, opener_policy, https)
    block = _FIXED_BLOCKS.get(key)
    if block is None:
        headers: Headers = []
        if cors:
            security.add_cors_headers(headers, b"*" if origin else None)
        headers.extend(security.security_headers(opener_policy, https=https))
        block = _FIXED_BLOCKS[key] = header_lines(headers)
    return block


class _Exchange:
    """One request's state, and the two `send`s the layer hands on."""

    __slots__ = (
        "block",
        "cors",
        "counting",
        "https",
        "origin",
        "path",
        "rate",
        "request_id",
        "send",
        "status",
    )

    def __init__(self, send: Send, path: str, https: bool, request_id: bytes, block: bool) -> None:
        self.send = send
        self.block = block  # the server takes a header block
        self.path = path
        self.https = https
        self.cors = security.is_cors_path(path)
        self.origin: bytes | None = None
        self.request_id = request_id
        self.rate: Verdict | None = None  # the rate limits' verdict: its headers
        self.status: int | None = None
        self.counting: body_limit.CountingReceive | None = None

    def _decorate(self, message: Message, rate: Verdict | None) -> Message:
        self.status = message["status"]
        own = message.get("headers", ())
        if self.block and not any(name.lower() in _ADDED_NAMES for name, _ in own):
            block = _fixed_block(
                self.cors, self.origin is not None, security.opener_policy(self.path), self.https
            )
            lines = rate.lines if rate is not None else b""
            lines += block + b"x-request-id: " + self.request_id + b"\r\n"
            return {**message, HEADER_BLOCK: lines}
        headers = list(own)
        if rate is not None:
            headers.extend(rate.headers)
        if self.cors:
            security.add_cors_headers(headers, self.origin)
        security.add_security_headers(headers, self.path, self.https)
        headers.append((b"x-request-id", self.request_id))
        return {**message, "headers": headers}

    async def send_outer(self, message: Message) -> None:
        """For the layer's own answers (preflight, 413, 429): no rate-limit headers added."""
        if message["type"] == "http.response.start":
            message = self._decorate(message, None)
        await self.send(message)

    async def send_inner(self, message: Message) -> None:
        """For the app's answers (and the 422 / 500 / 503 of steps 5-6)."""
        if self.counting is not None and self.counting.refused:
            return  # the body limit has answered; the app was told the client left
        if message["type"] == "http.response.start":
            message = self._decorate(message, self.rate)
        await self.send(message)


class EdgeMiddleware:
    def __init__(
        self, app: ASGIApp, *, settings: Settings, resolver: ClientIpResolver, state: Any
    ) -> None:
        self.app = app
        self.resolver = resolver
        self.behind_tls = settings.behind_tls
        self.body_limit = body_limit.BodyLimit(
            max_bytes=settings.max_request_body_bytes,
            max_upload_bytes=settings.max_upload_body_bytes,
        )
        self.rate_limits = EdgeRateLimits(settings)
        self.state = state  # the app's: its engines exist once the lifespan has started
        self.ip_gate: IpGate = state.ip_gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                _request_id, client_ip = bind_request_context(scope, self.resolver)
                if self.ip_gate.refuses(client_ip):
                    await refuse_websocket(receive, send)
                    return
            await self.app(scope, receive, send)
            return
        request_id, client_ip = bind_request_context(scope, self.resolver)
        https = self.behind_tls or scope.get("scheme") == "https"
        block = HEADER_BLOCK in scope.get("extensions", _NO_EXTENSIONS)
        exchange = _Exchange(send, scope["path"], https, request_id.encode(), block)
        failed = False
        # A duration measured for the log line and metrics only (finer than clock.monotonic).
        started = time.perf_counter()
        try:
            if self.ip_gate.refuses(client_ip):
                await error_response(403, ACCESS_REFUSED)(scope, receive, exchange.send_outer)
            else:
                await self._serve(scope, receive, exchange)
        except asyncio.CancelledError:
            raise  # the client left (http/admission.py) or the server is stopping: a 499
        except BaseException:
            failed = True
            raise
        finally:
            # No response: a crash is a 500; returning without one means the client went
            # away (499, as nginx logs it).
            status = exchange.status or (500 if failed else 499)
            record_access(scope, status, time.perf_counter() - started, client_ip)

    async def _serve(self, scope: Scope, receive: Receive, exchange: _Exchange) -> None:
        if exchange.cors:
            exchange.origin = security.request_origin(scope)
            if security.is_preflight(scope, exchange.origin):
                await security.answer_preflight(scope, receive, exchange.send_outer)
                return

        limit = self.body_limit.limit_for(exchange.path)
        declared = body_limit.declared_length(scope)
        if declared is not None and declared > limit:
            await body_limit.refuse(exchange.send_outer, limit)
            return
        counting = exchange.counting = body_limit.CountingReceive(
            receive, limit, exchange.send_outer
        )

        verdict = await self.rate_limits.check(scope, getattr(self.state, "engines", None))
        if verdict is not None:
            if not verdict.allowed:
                await verdict.refuse(exchange.send_outer)
                return
            exchange.rate = verdict

        send: Send = exchange.send_inner
        if encoding := compression.encoding_for(scope):
            send = compression.CompressingSend(send, encoding)
        try:
            try:
                checked = await check_input(scope, counting)
            except ConnectHubError as exc:
                await error_response(exc.status_code, exc.message)(scope, counting, send)
                return
            if checked is None:
                return  # the client left, or the body limit has answered
            await self.app(scope, checked, send)
        except Exception as exc:
            started = exchange.status is not None and not counting.refused
            await answer_unhandled(exc, scope, send, started=started)
