"""JSON responses rendered with orjson, for the hot list endpoints (timelines,
notifications): their entities are plain dicts already, so they skip FastAPI's validation
and serialization of the return value (the annotation stays as `response_model` for the
OpenAPI schema)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

ENTITY_LIST: Any = list[dict[str, Any]]


class EntityResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
