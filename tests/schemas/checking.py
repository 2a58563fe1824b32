"""Every JSON answer the tests get from the app, checked against its Mastodon entity.

`CheckedApp(app)` wraps the ASGI app the test clients talk to (in process, and the in-process
uvicorn server); what is wrong is kept in `VIOLATIONS`, and tests/conftest.py fails the test
that received it. A wrapper in the tests, not a middleware of the app: the server itself
never pays for it.
"""

from __future__ import annotations

import gzip
import threading
from typing import Any

import brotli  # type: ignore[import-untyped]
import orjson

from tests.schemas.contract import contract

# Appended to by the server's thread when a test runs uvicorn in process.
VIOLATIONS: list[str] = []
_LOCK = threading.Lock()

_Scope = dict[str, Any]


class CheckedApp:
    """The app, its JSON answers checked; attributes (`state`, …) are the app's, so tests
    that reach into the served app find it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: _Scope, receive: Any, send: Any) -> None:
        app = self.app
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if not contract().returns(method, path):
            await app(scope, receive, send)
            return
        status = 0
        is_json = False
        encoding = b""
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            nonlocal status, is_json, encoding
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = {name.lower(): value for name, value in message.get("headers", ())}
                is_json = headers.get(b"content-type", b"").startswith(b"application/json")
                encoding = headers.get(b"content-encoding", b"")
            elif message["type"] == "http.response.body" and 200 <= status < 300 and is_json:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    body = _decoded(b"".join(chunks), encoding)
                    errors = contract().check(method, path, orjson.loads(body))
                    if errors:
                        with _LOCK:
                            VIOLATIONS.extend(errors)
            await send(message)

        await app(scope, receive, capture)


def _decoded(body: bytes, encoding: bytes) -> bytes:
    """The answer as the client reads it (the edge layer compresses for clients that ask)."""
    if encoding == b"br":
        return bytes(brotli.decompress(body))
    if encoding == b"gzip":
        return gzip.decompress(body)
    return body


def take_violations() -> list[str]:
    with _LOCK:
        found = list(VIOLATIONS)
        VIOLATIONS.clear()
    return found
