"""JSON responses rendered with orjson, for the hottest list endpoints (the home, public,
hashtag and list timelines): their entities are plain dicts already, so returning an
`EntityResponse` skips FastAPI's validation and serialization of the return value; the
route's `response_model=ENTITY_LIST` keeps the OpenAPI schema. Other endpoints (notifications
among them) return their entities the ordinary way."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

ENTITY_LIST: Any = list[dict[str, Any]]


class EntityResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
