"""Routes that answer with entities (`connecthub.entities`): the TypedDict a route names, in
its return annotation or `response_model=`, describes its response in the OpenAPI document,
and nothing more. The value the handler returns is sent as it was built, never validated or
rebuilt through pydantic against that type: validating a home page that way cost more than
building it (bench/entities.py), and pydantic would drop or reorder keys.

What is sent is what it was before entities had types: a returned dict goes through
FastAPI's serialiser for `Any` (as it did for `dict[str, Any]`), a returned Response (the
timelines' `EntityResponse`) goes out as it is. Tests check the documented types against real
answers (tests/http/test_entity_schemas.py).

Every domain router that answers with entities is built with `route_class=EntityRoute`.
"""

from __future__ import annotations

import typing
from typing import Any

from fastapi.datastructures import Default, DefaultPlaceholder
from fastapi.dependencies.utils import get_typed_return_annotation
from fastapi.routing import APIRoute
from starlette.responses import Response
from typing_extensions import is_typeddict


def is_entity_type(annotation: Any) -> bool:
    """A TypedDict, or a list / dict / union holding one."""
    if is_typeddict(annotation):
        return True
    return any(is_entity_type(arg) for arg in typing.get_args(annotation))


def _sends_response(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Response)


class EntityRoute(APIRoute):
    def __init__(
        self,
        path: str,
        endpoint: typing.Callable[..., Any],
        *,
        response_model: Any = Default(None),
        status_code: int | None = None,
        responses: dict[int | str, dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        returned = get_typed_return_annotation(endpoint)
        documented = returned if isinstance(response_model, DefaultPlaceholder) else response_model
        if is_entity_type(documented):
            code = status_code or 200
            responses = dict(responses or {})
            responses[code] = {**responses.get(code, {}), "model": documented}
            # FastAPI's `Any` writes a returned dict as `dict[str, Any]` did; a handler that
            # returns a Response needs no serialiser at all.
            response_model = None if _sends_response(returned) else Any
        super().__init__(
            path,
            endpoint,
            response_model=response_model,
            status_code=status_code,
            responses=responses,
            **kwargs,
        )


__all__ = ["EntityRoute", "is_entity_type"]
