"""Routes that answer with entities (`connecthub.entities`): the TypedDict a route names, in
its return annotation or `response_model=`, describes its response in the OpenAPI document,
and nothing more. The value the handler returns is sent as it was built, never validated or
rebuilt through pydantic against that type: validating a home page that way cost more than
building it (bench/entities.py), and pydantic would drop or reorder keys.

What is sent is what it was before entities had types: a returned dict goes through
FastAPI's serialiser for `Any` (as it did for `dict[str, Any]`), a returned Response (the
timelines' `EntityResponse`) goes out as it is. Tests check the documented types against real
answers (tests/http/test_entity_schemas.py).

The types are given to the OpenAPI document only when it is asked for (`document_entities`),
not to FastAPI as response models: FastAPI builds a pydantic field for each response model
when the route is declared and again for each inclusion on the first request, and for the
277 entity routes that was ~1.5 s of every process's start and ~1 s of its first request
(docs/benchmarks.md, "Start-up").

Every domain router that answers with entities is built with `route_class=EntityRoute`.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Sequence
from typing import Any

from fastapi.datastructures import Default, DefaultPlaceholder
from fastapi.dependencies.utils import get_typed_return_annotation
from fastapi.openapi.constants import REF_TEMPLATE
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter
from pydantic.json_schema import CoreModeRef, DefsRef, GenerateJsonSchema
from starlette.responses import Response
from starlette.routing import BaseRoute
from typing_extensions import is_typeddict


def is_entity_type(annotation: Any) -> bool:
    """A TypedDict, or a list / dict / union holding one."""
    if is_typeddict(annotation):
        return True
    return any(is_entity_type(arg) for arg in typing.get_args(annotation))


def _sends_response(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, Response)


class EntityRoute(APIRoute):
    # (status code, the entity type it answers with), for the OpenAPI document.
    documented_entity: tuple[int, Any] | None = None

    def __init__(
        self,
        path: str,
        endpoint: typing.Callable[..., Any],
        *,
        response_model: Any = Default(None),
        status_code: int | None = None,
        **kwargs: Any,
    ) -> None:
        returned = get_typed_return_annotation(endpoint)
        documented = returned if isinstance(response_model, DefaultPlaceholder) else response_model
        if is_entity_type(documented):
            self.documented_entity = (status_code or 200, documented)
            # FastAPI's `Any` writes a returned dict as `dict[str, Any]` did; a handler that
            # returns a Response needs no serialiser at all.
            response_model = None if _sends_response(returned) else Any
        super().__init__(
            path, endpoint, response_model=response_model, status_code=status_code, **kwargs
        )


def document_entities(document: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Write each entity route's type into `document` (FastAPI's OpenAPI document of
    `routes`): the response's JSON schema, and the entities it refers to among the
    components, named by their TypedDicts as FastAPI names models."""
    answers: list[tuple[dict[str, Any], str, Any]] = []  # (response object, title, type)
    for context in iter_route_contexts(routes):
        entity = getattr(context.original_route, "documented_entity", None)
        if entity is None or not context.include_in_schema:
            continue
        code, annotation = entity
        operations = document["paths"][context.path_format]
        for method in sorted(context.methods or ()):
            responses = operations[method.lower()]["responses"]
            answer = responses.setdefault(str(code), {"description": "Successful Response"})
            title = f"Response_{code}_{context.unique_id}".replace("_", " ").title()
            answers.append((answer, title, annotation))
    components = document.setdefault("components", {}).setdefault("schemas", {})
    adapters = {annotation: _adapter(annotation) for _, _, annotation in answers}
    schemas, definitions = TypeAdapter.json_schemas(
        [(annotation, "serialization", adapter) for annotation, adapter in adapters.items()],
        ref_template=REF_TEMPLATE,
        schema_generator=_naming_around(set(components)),
    )
    for answer, title, annotation in answers:
        # Over what FastAPI wrote for the route's `Any` (its title), as FastAPI merges an
        # additional response's model: a reference stands untitled.
        schema = schemas[(annotation, "serialization")]
        schema = schema if "$ref" in schema else {**schema, "title": title}
        json_content = answer.setdefault("content", {}).setdefault("application/json", {})
        json_content["schema"] = {**json_content.get("schema", {}), **schema}
    components.update(definitions.get("$defs", {}))
    document["components"]["schemas"] = dict(sorted(components.items()))


@functools.cache
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    """One adapter per type for the process: building them was ~70 % of a document's ~1.3
    CPU-s, paid by every app whose document was asked for (each test's app, in tests)."""
    return TypeAdapter(annotation)


def _naming_around(taken: set[str]) -> type[GenerateJsonSchema]:
    """pydantic's naming of definitions (a type's own name, its module's path where two
    share one), never giving a name FastAPI gave one of its models (an entity `Rule` beside
    the instance's request model `Rule`)."""

    class Naming(GenerateJsonSchema):
        def get_defs_ref(self, core_mode_ref: CoreModeRef) -> DefsRef:
            ref = super().get_defs_ref(core_mode_ref)
            choices = self._prioritized_defsref_choices[ref]
            # (`Rule-Output` is `Rule` too, for a reader.)
            choices[:] = [choice for choice in choices if choice.split("-")[0] not in taken]
            return ref

    return Naming


__all__ = ["EntityRoute", "document_entities", "is_entity_type"]
