"""Refuses bodies over the configured size with 413, whether declared or streamed."""

from __future__ import annotations

import json

from starlette.types import Message, Receive, Scope, Send

from connecthub.http.errors import error_body

# Upload routes take the larger limit; everything else is JSON or form data. Imports (CSV
# files up to Mastodon's 20 MB, checked by portability's service) are uploads too.
UPLOAD_PATHS = (
    "/api/v1/media",
    "/api/v2/media",
    "/api/v1/accounts/update_credentials",
    "/api/v1/imports",
)


class BodyLimit:
    def __init__(self, *, max_bytes: int, max_upload_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    def limit_for(self, path: str) -> int:
        return self.max_upload_bytes if path.startswith(UPLOAD_PATHS) else self.max_bytes


def declared_length(scope: Scope) -> int | None:
    """The request's `Content-Length` (0 when unreadable), None when it declares none."""
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return None


class CountingReceive:
    """`receive` that counts the body as it streams in; past `limit` it answers 413 once
    (through `refuse_to`) and tells the app the client left, so it stops reading."""

    __slots__ = ("_limit", "_receive", "_refuse_to", "received", "refused")

    def __init__(self, receive: Receive, limit: int, refuse_to: Send) -> None:
        self._receive = receive
        self._limit = limit
        self._refuse_to = refuse_to
        self.received = 0
        self.refused = False

    async def __call__(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self._limit:
                self.refused = True
                await refuse(self._refuse_to, self._limit)
                return {"type": "http.disconnect"}
        return message


async def refuse(send: Send, limit: int) -> None:
    body = json.dumps(error_body(413, f"Request body is larger than {limit} bytes")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
