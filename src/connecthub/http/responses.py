"""HEADER_BLOCK, the server's ASGI extension for headers rendered once; and JSON responses
rendered with orjson, for the hottest list endpoints (the home, public,
hashtag and list timelines): their entities are plain dicts already, so they skip FastAPI's
serialization of the return value; the route names its entity type as `response_model` for
the OpenAPI document (http/entity_route.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from starlette.responses import JSONResponse

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
