"""The hottest routes served ahead of FastAPI's router: a dict from (method, path) to the
same endpoint function, called with its dependencies resolved by a short plan made once.

FastAPI's own path costs more than some of these routes' work: the router scans routes in
order, its dependency solver walks the dependency tree, reads query, header and cookie
parameters into pydantic fields, and builds exit stacks and telemetry contexts, on every
request (docs/benchmarks.md, "The request stack"). The routes stay declared on their
routers as before, so OpenAPI documents them and any method or path not in the dict is
routed by FastAPI as before. Nothing is written twice: the plan calls the route's own
endpoint and dependencies (`UowDep`, `require(...)`, `page_params` …), a dependency with
`yield` exits before the response is sent as FastAPI does, errors go to the app's own
exception handlers, and a returned entity is written with orjson.

A route is planned only if everything it depends on can be called this way: `async`
functions taking the `Request` (or async generators doing so), or taking only optional
text query parameters; path parameters that are text or an id (`PathId`, converted by its
own validator as pydantic would, after the dependencies as FastAPI does); anything else
(bodies, headers, a response model that converts) leaves the route to FastAPI, and
`fast_paths` says which were taken.

The plans serve in two places: the hot paths above, ahead of the middleware stack, by
exact path; and every other planned route once the route index (http/route_index.py) has
matched it, in place of FastAPI's route handler (`plans_by_route`): there FastAPI's
dependency solving, response serialisation and exit stacks were half or more of the CPU of
a route whose work is a cached read (docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import inspect
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_typed_return_annotation
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BeforeValidator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

Resolve = Callable[[Request, contextlib.AsyncExitStack | None], Awaitable[Any]]


@dataclass(frozen=True)
class _Step:
    name: str
    resolve: Resolve
    enters: bool = False  # a context (a dependency with `yield`): needs the exit stack


# A path parameter: its name in the endpoint, in the path, and what makes its value.
_Convert = Callable[[str], Any]
_PathParam = tuple[str, str, _Convert]


class Plan:
    """Each dependency is called once per request, in declaration order (FastAPI's cache)."""

    def __init__(self, route: APIRoute, steps: list[_Step], path: list[_PathParam]) -> None:
        self.route = route
        self.endpoint = route.endpoint
        self.request_param = route.dependant.request_param_name
        self.response_param = route.dependant.response_param_name
        self.steps = steps
        self.path = path
        self.status_code = route.status_code or 200
        self.needs_stack = any(step.enters for step in steps)

    async def serve(self, app: FastAPI, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self.route  # the access log's route template
        scope["endpoint"] = self.endpoint
        request = Request(scope, receive, send)
        try:
            if self.needs_stack:
                async with contextlib.AsyncExitStack() as stack:
                    response = await self._call(request, stack)
            else:
                response = await self._call(request, None)
        except Exception as exc:
            response = await _handled(app, request, exc)
        await response(scope, receive, send)

    async def _call(self, request: Request, stack: contextlib.AsyncExitStack | None) -> Response:
        values = {step.name: await step.resolve(request, stack) for step in self.steps}
        if self.path:
            given = request.scope["path_params"]
            for name, alias, convert in self.path:
                values[name] = convert(given[alias])
        if self.request_param:
            values[self.request_param] = request
        sub_response = None
        if self.response_param:
            # Headers (and a status) the endpoint sets on it, as FastAPI merges them.
            sub_response = values[self.response_param] = Response()
            del sub_response.headers["content-length"]
            sub_response.status_code = None  # type: ignore[assignment]
        result = await self.endpoint(**values)
        return self._response(result, sub_response)

    def _response(self, result: Any, sub_response: Response | None) -> Response:
        if isinstance(result, Response):
            return result
        if sub_response is None:
            return Response(orjson.dumps(result), self.status_code, media_type="application/json")
        response = Response(
            orjson.dumps(result),
            sub_response.status_code or self.status_code,
            media_type="application/json",
        )
        response.headers.raw.extend(sub_response.headers.raw)
        return response


async def _handled(app: FastAPI, request: Request, exc: Exception) -> Response:
    """The app's exception handler for `exc` (most specific class first), or raise."""
    for cls in type(exc).__mro__:
        handler = app.exception_handlers.get(cls)
        if handler is not None:
            response = handler(request, exc)
            if inspect.isawaitable(response):
                response = await response
            assert isinstance(response, Response)
            return response
    raise exc


def _is_optional_text(dependant: Dependant) -> bool:
    return all(
        field.field_info.annotation == (str | None) and field.default is None
        for field in dependant.query_params
    )


def _step(dependant: Dependant) -> _Step | None:
    """How to resolve one dependency, or None when it needs FastAPI."""
    call = dependant.call
    if (
        call is None
        or dependant.name is None
        or dependant.dependencies
        or dependant.path_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or dependant.websocket_param_name
        or dependant.http_connection_param_name
    ):
        return None
    if dependant.query_params:
        if dependant.request_param_name or not _is_optional_text(dependant):
            return None
        names = [(field.name, field.alias) for field in dependant.query_params]
        if not inspect.iscoroutinefunction(call):
            return None

        async def from_query(request: Request, _stack: contextlib.AsyncExitStack | None) -> Any:
            # As FastAPI reads a single-valued parameter: the last value given.
            raw = request.scope["query_string"].decode("latin-1")
            query = dict(parse_qsl(raw, keep_blank_values=True))
            return await call(**{name: query.get(alias) for name, alias in names})

        return _Step(dependant.name, from_query)
    if dependant.request_param_name is None:
        return None
    if inspect.isasyncgenfunction(call):
        context = contextlib.asynccontextmanager(call)

        async def entered(request: Request, stack: contextlib.AsyncExitStack | None) -> Any:
            assert stack is not None
            return await stack.enter_async_context(context(request))

        return _Step(dependant.name, entered, enters=True)
    if inspect.iscoroutinefunction(call):

        async def called(request: Request, _stack: contextlib.AsyncExitStack | None) -> Any:
            return await call(request)

        return _Step(dependant.name, called)
    return None


def _converts_its_result(route: APIRoute) -> bool:
    """True when FastAPI would turn the endpoint's result into something else than its
    plain JSON (a response model that filters or converts, another response class)."""
    response_class = route.response_class
    if isinstance(response_class, DefaultPlaceholder):
        response_class = response_class.value
    if response_class is not JSONResponse:
        return True
    returned = get_typed_return_annotation(route.endpoint)
    if isinstance(returned, type) and issubclass(returned, Response):
        return False
    return route.response_model not in (None, Any)


def _path_params(dependant: Dependant) -> list[_PathParam] | None:
    """How to make each path parameter's value, or None when one needs pydantic: text as it
    is, or an int made by the one `BeforeValidator` it declares (`PathId`)."""
    made: list[_PathParam] = []
    for field in dependant.path_params:
        info = field.field_info
        if info.annotation is str and not info.metadata:
            made.append((field.name, field.alias, str))
        elif (
            info.annotation is int
            and len(info.metadata) == 1
            and isinstance(info.metadata[0], BeforeValidator)
            and len(inspect.signature(info.metadata[0].func).parameters) == 1
        ):
            made.append((field.name, field.alias, cast(_Convert, info.metadata[0].func)))
        else:
            return None
    return made


def _plan(route: APIRoute) -> Plan | None:
    dependant = route.dependant
    path = _path_params(dependant)
    if (
        not inspect.iscoroutinefunction(route.endpoint)
        or path is None
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
        or dependant.background_tasks_param_name
        or _converts_its_result(route)
    ):
        return None
    calls = [sub.call for sub in dependant.dependencies]
    if len(set(calls)) != len(calls):
        return None  # one dependency under two names: FastAPI's cache, left to FastAPI
    steps = [_step(sub) for sub in dependant.dependencies]
    if any(step is None for step in steps):
        return None
    return Plan(route, [step for step in steps if step is not None], path)


# Each route's plan (or None), made once per route object: the routers are module-level, so
# every app of the process (the tests make one per test) shares their routes, and planning
# all of them cost ~40 ms of CPU per app. An entry goes with its route (the few routes an
# app adds for itself die with it), so an id() is never reused while its entry stands.
_PLANNED: dict[int, Plan | None] = {}


def plans_by_route(routes: Iterable[BaseRoute]) -> dict[int, Plan]:
    """A plan for every one of an app's routes (`flattened`) that can be planned, by the
    route's `id()` (routes are not hashable): the route index serves them."""
    plans: dict[int, Plan] = {}
    for route in routes:
        plan = _planned(route) if isinstance(route, APIRoute) else None
        if plan is not None:
            plans[id(route)] = plan
    return plans


def _planned(route: APIRoute) -> Plan | None:
    """`route`'s plan (or None), made on first asking."""
    key = id(route)
    if key not in _PLANNED:
        _PLANNED[key] = _plan(route)
        weakref.finalize(route, _PLANNED.pop, key, None)
    return _PLANNED[key]


def flattened(routes: Iterable[BaseRoute]) -> Iterable[BaseRoute]:
    """The app's routes in routing order, included routers opened up (FastAPI keeps an
    included router whole and routes into it)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from flattened(inner.routes)
        else:
            yield route


def first_match(routes: Iterable[BaseRoute], method: str, path: str) -> APIRoute | None:
    """The route FastAPI would pick for `method path` among `routes` in routing order
    (`flattened`): the first whose pattern matches with that method; None when that is not
    a plain APIRoute (a mount, a prefixed route …)."""
    for route in routes:
        pattern = getattr(route, "path_regex", None)
        if pattern is None or not pattern.match(path):
            continue
        methods = getattr(route, "methods", None)
        if methods is not None and method not in methods:
            continue
        return route if isinstance(route, APIRoute) and route.path == path else None
    return None


class FastRoutes:
    """ASGI: a planned (method, path) is served here; everything else goes to `app`."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI, hot: Iterable[tuple[str, str]]) -> None:
        self.app = app
        self.fastapi_app = fastapi_app
        self.plans: dict[tuple[str, str], Plan] = {}
        routes = list(flattened(fastapi_app.routes))
        for method, path in hot:
            route = first_match(routes, method, path)
            plan = _planned(route) if route is not None else None
            if plan is not None:
                self.plans[(method, path)] = plan

    @property
    def fast_paths(self) -> set[tuple[str, str]]:
        return set(self.plans)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            plan = self.plans.get((scope["method"], scope["path"]))
            # Overridden dependencies are FastAPI's business: the plans do not know them.
            if plan is not None and not self.fastapi_app.dependency_overrides:
                await plan.serve(self.fastapi_app, scope, receive, send)
                return
        await self.app(scope, receive, send)
