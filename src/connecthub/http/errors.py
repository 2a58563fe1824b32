"""Every error leaves the server as `{"error": "..."}` with the right status code."""

from __future__ import annotations

import json
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response
from starlette.types import Scope, Send

from connecthub.errors import ConnectHubError, OAuthError
from connecthub.infra import db, redis
from connecthub.ops.setup import report_exception

log = structlog.get_logger(__name__)

_STATUS_MESSAGES = {
    400: "Bad request",
    401: "The access token is invalid",
    403: "Forbidden",
    404: "Record not found",
    405: "Method not allowed",
    406: "Not acceptable",
    413: "Request body is too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service temporarily unavailable",
}


def error_body(status_code: int, message: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"error": message or _STATUS_MESSAGES.get(status_code, "Error"), **extra}


def error_response(
    status_code: int,
    message: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(error_body(status_code, message, **extra), status_code, headers=headers)


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def describe_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, str]]]:
    details = []
    for error in exc.errors():
        field = _field_name(error.get("loc", ()))
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        if error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "json_invalid":
            field, message = "body", "is not valid JSON"
        details.append({"field": field, "message": message})
    summary = "; ".join(f"{d['field']}: {d['message']}" for d in details)
    return f"Validation failed: {summary}", details


async def _handle_domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConnectHubError)
    if isinstance(exc, OAuthError):
        body = {"error": exc.code, "error_description": exc.message}
        return JSONResponse(body, exc.status_code, headers=exc.headers or None)
    return error_response(exc.status_code, exc.message, exc.headers or None, **exc.details)


async def _handle_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    message, details = describe_validation(exc)
    return error_response(422, message, details=details)


async def _handle_http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) and exc.status_code < 500 else None
    if message in ("Not Found", "Method Not Allowed"):
        message = None
    return error_response(exc.status_code, message, dict(exc.headers or {}) or None)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ConnectHubError, _handle_domain_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_error)


async def answer_unhandled(exc: Exception, scope: Scope, send: Send, *, started: bool) -> None:
    """Any uncaught exception becomes a JSON 500 *inside* the HTTP layer (http/edge.py), so
    the security headers and request id still apply, and is logged with its traceback. An
    engine outage is a 503 with Retry-After instead. Raises again when the response had
    already begun (nothing can be answered then)."""
    if isinstance(exc, ClientDisconnect):
        # The client left, or the body limit refused it mid-stream and has answered:
        # there is nobody to answer and no bug to report.
        return
    if started:
        log.exception("http.unhandled_error", path=scope.get("path"))
        report_exception(exc)
        raise exc
    outage = outage_of(exc)
    if outage is not None:
        # An engine that cannot answer now is not a bug: the client is told to come back
        # (503 + Retry-After), and the log gets one line, not a traceback.
        engine, reason, retry_after = outage
        log.warning(
            "http.engine_unavailable",
            engine=engine,
            reason=reason,
            error=_first_line(exc),
            path=scope.get("path"),
        )
        await _send_error(send, 503, [(b"retry-after", str(retry_after).encode())])
        return
    log.exception("http.unhandled_error", path=scope.get("path"))
    # Handled here, so Sentry's own ASGI wrapper never sees it.
    report_exception(exc)
    await _send_error(send, 500, [])


# Seconds a client is asked to wait, by why the engine failed. A dropped pooled connection
# or a busy pool is over in a moment (the pool has discarded its siblings; connections come
# back); a server that is down, starting or refusing needs longer.
_RETRY_AFTER_SECONDS = {"connection_lost": 1, "pool_exhausted": 1, "busy": 1, "unavailable": 5}


def outage_of(exc: BaseException) -> tuple[str, str, int] | None:
    """(engine, reason, Retry-After seconds) when `exc` says the database or Redis cannot
    answer now (infra/db.unavailable_reason, infra/redis.unavailable_reason); None for
    anything else, which stays a 500."""
    reason = db.unavailable_reason(exc)
    if reason is not None:
        return "database", reason, _RETRY_AFTER_SECONDS[reason]
    reason = redis.unavailable_reason(exc)
    if reason is not None:
        return "redis", reason, _RETRY_AFTER_SECONDS[reason]
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


async def _send_error(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps(error_body(status)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
