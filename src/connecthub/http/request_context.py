"""Per-request context: request id, client address, access log line and HTTP metrics."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connecthub.http.client_ip import ClientIpResolver
from connecthub.ops import metrics

log = structlog.get_logger("connecthub.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# An unmatched request is logged with its path (never the query string, where tokens go),
# cut to this length: a client may send any path at all.
_MAX_LOGGED_PATH = 512


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def bind_request_context(scope: Scope, resolver: ClientIpResolver) -> tuple[str, str]:
    """The request id (the client's `X-Request-ID` when well-formed) and client address,
    put in the scope's state and the log context. Returns both."""
    supplied = _header(scope, b"x-request-id")
    request_id = supplied if supplied and _REQUEST_ID.match(supplied) else uuid.uuid4().hex
    peer = scope["client"][0] if scope.get("client") else None
    client_ip = resolver.resolve(peer, _header(scope, b"x-forwarded-for"))
    state = scope.setdefault("state", {})
    state["request_id"] = request_id
    state["client_ip"] = client_ip
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    return request_id, client_ip


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, resolver: ClientIpResolver) -> None:
        self.app = app
        self.resolver = resolver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id, client_ip = bind_request_context(scope, self.resolver)
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return

        status: int | None = None
        failed = False
        # A duration measured for the log line and metrics only (finer than clock.monotonic).
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except asyncio.CancelledError:
            raise  # the client left (http/admission.py) or the server is stopping: a 499
        except BaseException:
            failed = True
            raise
        finally:
            if status is None:
                # No response: a crash is a 500; returning without one means the client
                # went away (499, as nginx logs it).
                status = 500 if failed else 499
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(route=route, method=method, status=str(status)).inc()
            metrics.HTTP_LATENCY.labels(route=route, method=method).observe(elapsed)
            # A route template says which endpoint answered; a miss has none, so the
            # path tells operators which URL a client expected to exist.
            missed = {"path": str(scope["path"])[:_MAX_LOGGED_PATH]} if route == "unmatched" else {}
            log.info(
                "http.request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                client_ip=client_ip,
                **missed,
            )
