"""Structured JSON logs with the request id in every line, and nothing secret in any."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog

_SECRET_KEYS = re.compile(
    r"pass(word)?|token|secret|authorization|cookie|otp|code_verifier|email|e_mail", re.I
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# `Bearer x`, `Basic x`, secrets in query strings or form bodies (`password=x`), and the
# WebSocket subprotocol header that streaming clients use to carry their token.
_INLINE_SECRET = re.compile(
    r"(?i)(bearer\s+|basic\s+|sec-websocket-protocol:\s*|(?<![a-z0-9_])"
    r"(?:access_token|refresh_token|token|password|client_secret|code)=)[A-Za-z0-9._~+/=%-]+"
)
# Credentials inside URLs: `postgresql://user:secret@host`.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]+@")
REDACTED = "[redacted]"
# Libraries that log SQL parameters or raw HTTP traffic at debug level stay at warning.
_CHATTY_LOGGERS = ("aiosqlite", "httpcore", "hpack", "urllib3", "multipart")
# Moderators' actions are an audit trail: written at info, kept whatever LOG_LEVEL says.
AUDIT_LOGGER = "connecthub.audit"


# The request being served, set once per request by http/request_context.py and read only
# when a line is written (a structlog `bind_contextvars` per request, and the clearing of the
# previous request's keys, cost more than a request whose access line is not logged).
REQUEST_ID: ContextVar[str | None] = ContextVar("connecthub_request_id", default=None)


def add_request_id(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    request_id = REQUEST_ID.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    return event_dict


def scrub_text(text: str) -> str:
    """Masks e-mail addresses, credentials in URLs and inline tokens or passwords."""
    text = _URL_PASSWORD.sub(r"\1" + REDACTED + "@", text)
    return _INLINE_SECRET.sub(r"\1" + REDACTED, _EMAIL.sub(REDACTED, text))


def scrub_value(value: Any) -> Any:
    """A copy of `value` with secret-looking keys dropped and every string scrubbed."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {
            k: REDACTED if _SECRET_KEYS.search(str(k)) else scrub_value(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub_value(item) for item in value]
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Drops values under secret-looking keys and masks e-mail addresses and bearer tokens
    anywhere in the line, tracebacks included."""
    for key in list(event_dict):
        if _SECRET_KEYS.search(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = scrub_value(event_dict[key])
    return event_dict


def configure_logging(level: str, fmt: str) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.add_logger_name,
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        # Drop lines below the level before any processor runs: the access log is per request.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # Uvicorn's own access log repeats ours without the request id; ours is the record.
    logging.getLogger("uvicorn.access").handlers = []
    logging.getLogger("uvicorn.access").propagate = False
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    logging.getLogger(AUDIT_LOGGER).setLevel(min(logging.INFO, root.level))
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
