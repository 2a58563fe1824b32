"""Responses compressed for clients that accept it (brotli first, then gzip), where no
proxy in front does it — the embedded default (docs/adr/0017-response-compression.md).

Called by the edge layer (http/edge.py) with the request's scope: `encoding_for` reads
`Accept-Encoding` once, and only then is the app's `send` wrapped. A response is
compressed when it comes in one body message (streams such as server-sent events and
large files pass through as they are), is at least `MIN_BYTES`, has a compressible
content type and no `Content-Encoding` of its own. Its `Content-Length` is replaced and
`Vary: Accept-Encoding` added; a weak ETag stays valid for the compressed form.

BREACH: an attacker who can reflect input into a compressed response that also holds a
secret, and watch the response's size, can guess the secret byte by byte. The answers that
carry a secret in their body (tokens, client secrets, the CSRF tokens of the sign-in and
authorization pages) are never compressed: `SECRET_PATHS`. API answers carry no secret of
the client's in their bodies (the token travels in a header), so they are.
"""

from __future__ import annotations

import functools
import gzip

import brotli  # type: ignore[import-untyped]
from starlette.types import Message, Scope, Send

MIN_BYTES = 1024
# Brotli at 4 compresses JSON better than gzip at 6, at about the same CPU per byte.
BROTLI_QUALITY = 4
GZIP_LEVEL = 6
COMPRESSIBLE = (
    b"application/json",
    b"application/activity+json",
    b"application/manifest+json",
    b"application/javascript",
    b"text/",
    b"image/svg+xml",
)
# Answers whose bodies carry a secret beside input a third party can influence.
SECRET_PATHS = ("/oauth/token", "/oauth/authorize", "/api/v1/apps", "/auth/", "/settings")
BROTLI = b"br"
GZIP = b"gzip"


def accepted_codings(header: bytes) -> set[bytes]:
    """The codings `Accept-Encoding` allows (q > 0)."""
    allowed = set()
    for item in header.split(b","):
        coding, _, params = item.strip().partition(b";")
        quality = params.strip()
        if quality.startswith(b"q="):
            try:
                if float(quality[2:]) <= 0:
                    continue
            except ValueError:
                continue
        allowed.add(coding.strip().lower())
    return allowed


def encoding_for(scope: Scope) -> bytes | None:
    """The coding to answer this request in, or None (not accepted, or a secret's path)."""
    if scope["method"] == "HEAD" or scope["path"].startswith(SECRET_PATHS):
        return None
    for name, value in scope["headers"]:
        if name == b"accept-encoding":
            allowed = accepted_codings(value)
            if BROTLI in allowed:
                return BROTLI
            if GZIP in allowed or b"*" in allowed:
                return GZIP
            return None
    return None


def compress(body: bytes, encoding: bytes) -> bytes:
    if encoding == BROTLI:
        return bytes(brotli.compress(body, quality=BROTLI_QUALITY))
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)


@functools.lru_cache(maxsize=256)
def compressed_answer(head: bytes, body: bytes, encoding: bytes) -> tuple[bytes, bytes]:
    """A held JSON answer (header lines, body) as `CompressingSend` sends it in
    `encoding`: compressed once per answer held as the same bytes (an instance document, a
    held account), not once per request. A body under `MIN_BYTES` stays as it is."""
    if len(body) < MIN_BYTES:
        return head, body
    packed = compress(body, encoding)
    kept = b"".join(
        line + b"\r\n"
        for line in head.split(b"\r\n")
        if line and not line.lower().startswith(b"content-length:")
    )
    added = b"content-encoding: %s\r\ncontent-length: %d\r\nvary: Accept-Encoding\r\n"
    return kept + added % (encoding, len(packed)), packed


class CompressingSend:
    """The app's `send` for a request that accepts `encoding`: holds the response start
    until the first body message says whether to compress."""

    __slots__ = ("encoding", "send", "start")

    def __init__(self, send: Send, encoding: bytes) -> None:
        self.send = send
        self.encoding = encoding
        self.start: Message | None = None

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.start = message
            return
        start = self.start
        if kind != "http.response.body" or start is None:
            await self.send(message)
            return
        self.start = None
        body: bytes = message.get("body", b"")
        if not message.get("more_body", False) and self._compressible(start, body):
            compressed = compress(body, self.encoding)
            headers = [
                (name, value)
                for name, value in start.get("headers", ())
                if name.lower() != b"content-length"
            ]
            headers += [
                (b"content-encoding", self.encoding),
                (b"content-length", str(len(compressed)).encode()),
                (b"vary", b"Accept-Encoding"),
            ]
            await self.send({**start, "headers": headers})
            await self.send({**message, "body": compressed})
            return
        await self.send(start)
        await self.send(message)

    @staticmethod
    def _compressible(start: Message, body: bytes) -> bool:
        if len(body) < MIN_BYTES or start["status"] in (204, 304):
            return False
        content_type = b""
        for name, value in start.get("headers", ()):
            lowered = name.lower()
            if lowered == b"content-encoding":
                return False
            if lowered == b"content-type":
                content_type = value.lower()
        return content_type.startswith(COMPRESSIBLE) and not content_type.startswith(
            b"text/event-stream"
        )
