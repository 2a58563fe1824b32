"""JSON responses rendered with orjson, for the hottest list endpoints (the home, public,
hashtag and list timelines): their entities are plain dicts already, so they skip FastAPI's
serialization of the return value; the route names its entity type as `response_model` for
the OpenAPI document (http/entity_route.py)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class EntityResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
