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

Two shorter ways for the hottest reads, each ending with the same answer and headers:
a plain GET of a prebuilt document's path (routes.PREBUILT_ROUTES: the instance documents)
goes from the rate limits straight to the document (`_answer_prebuilt`), and the server
may answer a plain GET of routes.AT_ONCE_ROUTES before any ASGI call when everything it
needs is held in the process (`answer_now`, ADR 0053).

It replaced seven nested middleware classes, each wrapping `send` (and some `receive`) in
its own closure and coroutine frame: one layer, one `send` wrapper (docs/benchmarks.md,
"The request stack").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connecthub.config import Settings
from connecthub.errors import ConnectHubError
from connecthub.http import body_limit, compression, security
from connecthub.http.auth import NOT_NEAR, resolve_token_near
from connecthub.http.client_ip import ClientIpResolver
from connecthub.http.errors import answer_unhandled, error_response
from connecthub.http.inputs import check_input
from connecthub.http.ip_gate import IpGate, refuse_websocket
from connecthub.http.ratelimit import EdgeRateLimits, Verdict
from connecthub.http.request_context import bind_request_context, record_access
from connecthub.http.responses import HEADER_BLOCK, PrebuiltJson, header_lines
from connecthub.infra.engines import Engines
from connecthub.ops.logging import REQUEST_ID

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


def _edge_lines(
    path: str, cors: bool, origin: bool, https: bool, rate: Verdict | None, request_id: bytes
) -> bytes:
    """This layer's headers as the lines of one block: the rate limits', then CORS and
    security headers, then the request id."""
    block = _fixed_block(cors, origin, security.opener_policy(path), https)
    lines = rate.lines if rate is not None else b""
    return lines + block + b"x-request-id: " + request_id + b"\r\n"


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
            origin = self.origin is not None
            lines = _edge_lines(self.path, self.cors, origin, self.https, rate, self.request_id)
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


class PrebuiltSource(Protocol):
    """Where a prebuilt path's document comes from (rendered when it must be)."""

    def __call__(self, engines: Engines) -> Awaitable[PrebuiltJson]: ...


# A prebuilt document's route (for the access line and metrics) and its source.
Prebuilt = tuple[Any, PrebuiltSource]
# A route answered at once (`EdgeMiddleware.answer_now`) and its answer: a function of the
# engines, the caller's token (None: anonymous) and the query string giving (head lines,
# body), or None.
AtOnce = tuple[Any, Callable[[Engines, Any, bytes], tuple[bytes, bytes] | None]]
# Request headers that send a prebuilt path's request the usual way: a body, a
# conditional or compressed answer, CORS (the routes answer all of them alike).
_NOT_PLAIN = frozenset(
    {
        b"content-length",
        b"transfer-encoding",
        b"content-type",
        b"accept-encoding",
        b"if-none-match",
        b"origin",
    }
)


# An answer given at once is compressed as the usual way would (the held JSON answers).
_NOT_PLAIN_AT_ONCE = _NOT_PLAIN - {b"accept-encoding"}


def _plain_get(
    scope: Scope, not_plain: frozenset[bytes] = _NOT_PLAIN, *, query: bool = False
) -> bool:
    """A GET without any header in `not_plain`, and without a query string unless `query`."""
    if scope["method"] != "GET" or (scope.get("query_string") and not query):
        return False
    return not any(name in not_plain for name, _ in scope["headers"])


class EdgeMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        resolver: ClientIpResolver,
        state: Any,
        prebuilt: Mapping[str, Prebuilt] | None = None,
        at_once: Mapping[str, AtOnce] | None = None,
        overrides: Mapping[Any, Any] | None = None,
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
        # Paths answered from a prebuilt document (routes.PREBUILT_ROUTES), unless the
        # app's dependencies are overridden (tests: the route's own path then).
        self.prebuilt: Mapping[str, Prebuilt] = prebuilt or {}
        self.overrides: Mapping[Any, Any] = overrides or {}
        # The server answers a plain GET of a prebuilt path from `answer_now` as soon as
        # its headers are read, when everything the answer needs is held in the process
        # (serving.GuardedHttpToolsProtocol finds it in the app's state). Not with tracing
        # on: its layer wraps this one and would not see those requests.
        self.traced = bool(settings.otel_exporter_otlp_endpoint)
        self.at_once: Mapping[str, AtOnce] = at_once or {}
        if self.at_once:
            state.answer_now = self.answer_now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                _request_id, client_ip = bind_request_context(scope, self.resolver)
                if self.ip_gate.refuses(client_ip):
                    await refuse_websocket(receive, send)
                    return
                await _hear_outside_writes(self.state)
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
        await _hear_outside_writes(self.state)
        prebuilt = self.prebuilt.get(exchange.path)
        if (
            prebuilt is not None
            and not self.overrides
            and _plain_get(scope)
            and await self._answer_prebuilt(scope, exchange, prebuilt)
        ):
            return
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

    async def _answer_prebuilt(self, scope: Scope, exchange: _Exchange, prebuilt: Prebuilt) -> bool:
        """A plain GET of a prebuilt document's path: the rate limits, then the document
        as its route answers it, without the steps that have nothing to do for it (no
        preflight, body, query, compression, or routing). False when the document cannot
        be had (an engine down): the request then goes the usual way, which answers that
        failure as for any route."""
        route, source = prebuilt
        engines = getattr(self.state, "engines", None)
        if engines is None:
            return False
        try:
            document = await source(engines)
        except Exception:
            return False
        verdict = await self.rate_limits.check(scope, engines)
        if verdict is not None:
            if not verdict.allowed:
                await verdict.refuse(exchange.send_outer)
                return True
            exchange.rate = verdict
        scope["route"] = route  # the access line's and the metrics' route template
        scope["endpoint"] = route.endpoint
        status, headers, body = document.answer(None)
        start = {"type": "http.response.start", "status": status, "headers": headers}
        await exchange.send_inner(start)
        await exchange.send_inner({"type": "http.response.body", "body": body})
        return True

    def answer_now(self, scope: Scope) -> tuple[int, bytes, bytes] | None:
        """A plain GET of an at-once path (routes.AT_ONCE_ROUTES; `Accept-Encoding` allowed:
        the held answer compressed once, as the usual way compresses it; a query string
        when the path's answer reads it, as home's page) answered with no await,
        for a server that can write it at once (serving.GuardedHttpToolsProtocol: no
        request cycle, task or ASGI call): status, header lines (the route's, then this
        layer's as one block) and body. The same steps and the same answer as through the
        ASGI app — request id, IP block, rate limits and their headers, the route's own
        checks and answer, the access line and metrics — when each is decided in the
        process: the caller's token held near, the answer held (a rendered document, a
        cached entity), every rate-limit bucket far from its limit. None otherwise, with
        nothing counted or logged: the request then goes the usual way."""
        started = time.perf_counter()
        path = scope["path"]
        at_once = self.at_once.get(path)
        if (
            at_once is None
            or self.traced
            or self.overrides
            or not _plain_get(scope, _NOT_PLAIN_AT_ONCE, query=True)
        ):
            return None
        engines = getattr(self.state, "engines", None)
        if engines is None:
            return None
        outside = engines.outside_writes
        if outside is not None and not outside.nothing_new():
            return None  # the usual way forgets what it held first (infra/outside_writes.py)
        token = resolve_token_near(scope, engines)
        if token is NOT_NEAR:
            return None
        route, answer_of = at_once
        answer = answer_of(engines, token, scope.get("query_string", b""))
        if answer is None:
            return None
        previous = REQUEST_ID.get()
        try:
            request_id, client_ip = bind_request_context(scope, self.resolver)
            if self.ip_gate.refuses(client_ip):
                return None
            verdict = self.rate_limits.check_near(scope, engines)
            if verdict is NOT_NEAR:
                return None
            assert verdict is None or isinstance(verdict, Verdict)
            https = self.behind_tls or scope.get("scheme") == "https"
            # No header of the route's own among this layer's (nor an `Origin`: not plain),
            # so they come as one block, as `_Exchange._decorate` gives them.
            cors = security.is_cors_path(path)
            block = _edge_lines(path, cors, False, https, verdict, request_id.encode())
            scope["route"] = route
            scope["endpoint"] = route.endpoint
            record_access(scope, 200, time.perf_counter() - started, client_ip)
            head, body = answer
            lines = head + block
            if encoding := compression.encoding_for(scope):
                head, packed = compression.compressed_answer(head, body, encoding)
                if packed is not body:  # `Vary: Accept-Encoding` beside this layer's `Origin`
                    lines, body = _one_vary(head + block), packed
            return 200, lines, body
        finally:
            REQUEST_ID.set(previous)


async def _hear_outside_writes(state: Any) -> None:
    """Embedded mode: what another process committed since the last look, forgotten before
    this request is answered from what the server holds (infra/outside_writes.py)."""
    engines = getattr(state, "engines", None)
    outside = None if engines is None else engines.outside_writes
    if outside is not None and outside.due():
        await outside.check()


def _one_vary(lines: bytes) -> bytes:
    """Header lines with their `vary` lines made one, as the usual way merges them."""
    kept: list[bytes] = []
    varied: list[bytes] = []
    for line in lines.split(b"\r\n"):
        if line[:5].lower() == b"vary:":
            varied.append(line[5:].strip())
        elif line:
            kept.append(line)
    if varied:
        kept.append(b"vary: " + b", ".join(varied))
    return b"".join(line + b"\r\n" for line in kept)
