"""Responses made cheap: HEADER_BLOCK, the server's ASGI extension for headers rendered
once; PrebuiltJson, a document rendered once and answered as it is (with its ETag, and
304 to a client that has it); and JSON responses rendered with orjson, for the hottest list
endpoints (the home, public,
hashtag and list timelines): their entities are plain dicts already, so they skip FastAPI's
serialization of the return value; the route names its entity type as `response_model` for
the OpenAPI document (http/entity_route.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import orjson
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

# `connecthub serve`'s uvicorn offers it in `scope["extensions"]` (serving._Cycle): a
# response start may carry, under this key, headers already rendered as `name: value\r\n`
# lines, which the server writes as they are instead of checking and re-rendering each
# header. The app vouches for them: lower-case names, values without control characters,
# never content-length, transfer-encoding or connection. Under any other server (tests'
# in-process clients, another ASGI server) the app sends the same headers as pairs.
HEADER_BLOCK = "connecthub.header_block"


def header_lines(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Headers as the lines HEADER_BLOCK carries."""
    return b"".join(b"%s: %s\r\n" % header for header in headers)


class EntityResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class _Prebuilt(Response):
    """A response whose head and body exist already: nothing to render, nothing to check."""

    def __init__(self, status: int, body: bytes, raw_headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status
        self.body = body
        self.raw_headers = raw_headers
        self.background = None


def _if_none_match(scope: Scope) -> bytes | None:
    for key, value in scope["headers"]:
        if key == b"if-none-match":
            return bytes(value)
    return None


class PrebuiltJson:
    """One JSON document as every client gets it until it changes: its body, its head, and
    a weak ETag (a digest of the body, as Rails' Rack::ETag gives Mastodon's answers), all
    made once. A client whose `If-None-Match` names the ETag gets a 304 without the body."""

    __slots__ = ("_head", "_not_modified", "body", "etag", "head_lines")

    def __init__(self, body: bytes, *, cache_control: bytes) -> None:
        self.body = body
        self.etag = weak_etag(body)
        validators = [(b"cache-control", cache_control), (b"etag", self.etag)]
        self._not_modified = validators
        self._head = [
            (b"content-length", b"%d" % len(body)),
            (b"content-type", b"application/json"),
            *validators,
        ]
        self.head_lines = header_lines(self._head)  # for a server that takes a header block

    def response(self, scope: Scope) -> Response:
        status, headers, body = self.answer(_if_none_match(scope))
        return _Prebuilt(status, body, headers)

    def answer(self, wanted: bytes | None) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Status, headers and body for a client whose `If-None-Match` is `wanted`."""
        if wanted is not None and self._matches(wanted):
            return 304, list(self._not_modified), b""
        return 200, list(self._head), self.body

    def _matches(self, wanted: bytes) -> bool:
        return etag_matches(self.etag, wanted)


def weak_etag(body: bytes) -> bytes:
    """A weak ETag: a digest of the body."""
    return b'W/"%s"' % hashlib.blake2b(body, digest_size=16).hexdigest().encode()


def etag_matches(etag: bytes, wanted: bytes) -> bool:
    """RFC 9110's weak comparison of `etag` with an `If-None-Match` value: any listed tag
    with the same opaque part, or `*`."""
    own = etag.removeprefix(b"W/")
    return any(
        tag == b"*" or tag.removeprefix(b"W/") == own
        for tag in (part.strip() for part in wanted.split(b","))
    )
