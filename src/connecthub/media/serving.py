"""Serving stored media from this server (embedded mode, or a store without public access).

Everything about the response is decided here, not by the file: the key must be one of
ours, the Content-Type comes from the allow-list by the key's extension, and the headers
forbid sniffing, scripts, framing and rendering as a page. Keys are content hashes, so the
ETag is the hash and the response is cacheable forever.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from connecthub.infra.storage import CACHE_CONTROL, MediaStorage, content_disposition
from connecthub.media.sniffing import BY_EXTENSION

KEY = re.compile(
    r"^(?:original|small|webp|thumbnail|upload|avatar|header|emoji|emoji_static|card)/[0-9a-f]{2}/[0-9a-f]{2}/"
    r"(?P<digest>[0-9a-f]{64})\.(?P<extension>[a-z0-9]{2,5})$"
)
CONTENT_SECURITY_POLICY = "default-src 'none'; form-action 'none'; sandbox"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def safe_headers() -> dict[str, str]:
    """On every answer of the media route, errors included."""
    return {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Cross-Origin-Resource-Policy": "cross-origin",
    }


@dataclass(frozen=True)
class Located:
    key: str
    content_type: str
    etag: str


def locate(key: str) -> Located | None:
    match = KEY.match(key)
    if match is None:
        return None
    file_type = BY_EXTENSION.get(match["extension"])
    if file_type is None:
        return None
    return Located(key, file_type.content_type, f'"{match["digest"]}"')


class RangeNotSatisfiable(ValueError):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range asked for, inclusive (None: send the whole file). Several ranges
    are answered with the whole file, as RFC 9110 allows; a range that cannot be met raises
    RangeNotSatisfiable (416)."""
    if not header:
        return None
    value = header.strip().replace(" ", "")
    if not value.startswith("bytes="):
        return None  # another unit: ignored
    if "," in value:
        return None
    match = _RANGE.match(value)
    if match is None or (not match[1] and not match[2]):
        raise RangeNotSatisfiable(value)
    if not match[1]:  # the last N bytes
        length = int(match[2])
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(value)
        return max(0, size - length), size - 1
    start = int(match[1])
    end = int(match[2]) if match[2] else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(value)
    return start, min(end, size - 1)


def etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = {item.strip().removeprefix("W/") for item in header.split(",")}
    return "*" in candidates or etag in candidates


def file_headers(located: Located) -> dict[str, str]:
    return {
        **safe_headers(),
        "Content-Type": located.content_type,
        "Content-Disposition": content_disposition(located.key),
        "Cache-Control": CACHE_CONTROL,
        "ETag": located.etag,
        "Accept-Ranges": "bytes",
    }


async def body(storage: MediaStorage, key: str, start: int, end: int) -> AsyncIterator[bytes]:
    async for chunk in storage.stream(key, start, end):
        yield chunk
