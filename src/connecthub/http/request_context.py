"""Per-request context: request id, client address, access log line and HTTP metrics
(applied by the one HTTP layer, http/edge.py)."""

from __future__ import annotations

import logging
import os
import re

import structlog
from starlette.types import Scope

from connecthub.http.client_ip import ClientIpResolver
from connecthub.ops import metrics
from connecthub.ops.logging import REQUEST_ID

log = structlog.get_logger("connecthub.access")
# Asked before the line is built: below its level (LOG_LEVEL=warning) an access line is
# one cached look-up, not a structlog call whose first processor drops it.
_access_logger = logging.getLogger("connecthub.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# An unmatched request is logged with its path (never the query string, where tokens go),
# cut to this length: a client may send any path at all.
_MAX_LOGGED_PATH = 512


def _request_headers(scope: Scope) -> tuple[str | None, str | None]:
    """`X-Request-Id` and `X-Forwarded-For`, in one pass over the headers."""
    request_id = forwarded = None
    for key, value in scope.get("headers", ()):
        if key == b"x-request-id":
            request_id = value.decode("latin-1")
        elif key == b"x-forwarded-for":
            forwarded = value.decode("latin-1")
    return request_id, forwarded


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def bind_request_context(scope: Scope, resolver: ClientIpResolver) -> tuple[str, str]:
    """The request id (the client's `X-Request-ID` when well-formed) and client address,
    put in the scope's state and the log context. Returns both."""
    supplied, forwarded = _request_headers(scope)
    request_id = supplied if supplied and _REQUEST_ID.match(supplied) else os.urandom(16).hex()
    client = scope.get("client")
    client_ip = resolver.resolve(client[0] if client else None, forwarded)
    state = scope.setdefault("state", {})
    state["request_id"] = request_id
    state["client_ip"] = client_ip
    REQUEST_ID.set(request_id)
    return request_id, client_ip


def record_access(scope: Scope, status: int, elapsed: float, client_ip: str) -> None:
    """The access log line and the HTTP metrics of one finished request."""
    route = _route_template(scope)
    method = scope["method"]
    metrics.record_request(route, method, status, elapsed)
    if not _access_logger.isEnabledFor(logging.INFO):
        return
    # A route template says which endpoint answered; a miss has none, so the path tells
    # operators which URL a client expected to exist.
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
