"""The route a request selects, found among the few routes that share its path's leading
literal segments, instead of FastAPI's walk through every included router in order.

FastAPI keeps each included router whole and routes into it: a request tries the ~44
routers the app includes one after another, each trying its own routes with the scope's
routing context set and restored around every one, and the router that matches runs its
search again to handle the request. A route late in that order paid for all of it: 28 µs
to route `GET /api/v1/instance`, 106 µs for `GET /api/v1/statuses/{id}`, 0.7 ms for an
admin route, 1.6 ms for a miss (docs/benchmarks.md, "Routing by leading segments").

`RouteIndex` sits where FastAPI's router dispatches (`app.router.middleware_stack`). It
lists every route FastAPI would try, in FastAPI's order, each under the literal segments
its path pattern begins with (up to three). A request's candidates are the routes listed
under a prefix of its own path's segments — a superset of those whose pattern can match,
in the same order — and each is asked `matches` exactly as FastAPI asks it. The first full
match, when it is an API route, is handled as FastAPI's included routers hand it over
(form limits, routing context, `route` in the scope). A request no route matches at all
goes straight to the router's default (the 404, or the trailing-slash redirect). Everything
else — a match but for the method (a 405), another kind of route first (`/openapi.json`),
a WebSocket, a root path — goes to FastAPI's own dispatch, which decides as it always did.

It leans on FastAPI internals (the included-router types and the scope helpers they use);
the lock file pins FastAPI, and tests/http/test_route_index.py holds every route's choice
equal to FastAPI's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import (
    _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
    _FASTAPI_INCLUDED_ROUTER_KEY,
    _SCOPE_MISSING,
    APIRoute,
    APIRouter,
    _apply_router_form_limits,
    _EffectiveRouteContext,
    _get_fastapi_scope,
    _IncludedRouter,
    _restore_fastapi_scope_key,
    _update_scope,
)
from fastapi.telemetry._api import _route_selected
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from connecthub.http.fast_routes import Plan

# Routes are listed under at most this many leading literal segments: enough to tell the
# API's resources apart (`/api/v1/statuses`, `/api/v1/admin`), few enough to look up.
_DEPTH = 3
# Paths whose candidate lists are kept (the leading segments of real traffic are few; a
# flood of random paths only refills it).
_KEPT_PREFIXES = 4096


@dataclass(frozen=True)
class _Listed:
    """One route as FastAPI would try it: the included routers it sits in (outermost
    first) and, for a route of an included router, its routing context."""

    order: int
    route: BaseRoute
    context: _EffectiveRouteContext | None
    chain: tuple[_IncludedRouter, ...]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        context = self.context
        if context is None:
            return self.route.matches(scope)
        if not isinstance(context.original_route, APIRoute):
            return context.matches(scope)
        # An API route of an included router matches with its routing context in the scope
        # (its effective path and methods), as the router sets it around the call.
        routing = _get_fastapi_scope(scope)
        previous = routing.get(_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY, _SCOPE_MISSING)
        routing[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = context
        try:
            return context.original_route.matches(scope)
        finally:
            _restore_fastapi_scope_key(scope, _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY, previous)


def _leading_literals(path_format: str | None) -> tuple[str, ...]:
    """The whole segments a path pattern begins with that hold no parameter (at most
    `_DEPTH`); () when it has none, or no pattern at all (listed for every path)."""
    if not path_format or not path_format.startswith("/"):
        return ()
    literals: list[str] = []
    for segment in path_format[1:].split("/")[:_DEPTH]:
        if "{" in segment:
            break
        literals.append(segment)
    return tuple(literals)


def _path_format(listed: _Listed) -> str | None:
    if listed.context is None:
        return getattr(listed.route, "path_format", None)
    starlette_route = listed.context.starlette_route
    return getattr(starlette_route, "path_format", None) or listed.context.path_format


def _listed(routes: list[BaseRoute]) -> list[_Listed]:
    """Every route FastAPI tries, in its order, included routers opened up."""
    found: list[_Listed] = []

    def walk(candidates: list[Any], chain: tuple[_IncludedRouter, ...], top: bool = False) -> None:
        for candidate in candidates:
            if isinstance(candidate, _IncludedRouter):
                walk(candidate.effective_candidates(), (*chain, candidate))
            elif top:
                found.append(_Listed(len(found), candidate, None, chain))
            else:
                found.append(_Listed(len(found), candidate.original_route, candidate, chain))

    walk(routes, (), top=True)
    return found


def compile_routes(router: APIRouter) -> None:
    """What FastAPI does to the router's included routes on a process's first request
    (their parameter models, response fields and routing contexts, built lazily and kept
    on the included branches), done now."""
    _listed(router.routes)
    for _ in router._iter_low_priority_routes():
        pass


class RouteIndex:
    """ASGI: the router's dispatch with the search narrowed to a request's candidates."""

    def __init__(self, router: APIRouter, dispatch: ASGIApp) -> None:
        self.router = router
        self.dispatch = dispatch  # FastAPI's own
        self._built_for = -1
        self._listed: dict[tuple[str, ...], list[_Listed]] = {}
        self._candidates: dict[tuple[str, ...], list[_Listed]] = {}
        self._misses_go_to_default = False
        # Routes served by a plan instead of FastAPI's handler, by the route's id()
        # (http/fast_routes.py).
        self.plans: dict[int, Plan] = {}

    def _build(self) -> None:
        listed: dict[tuple[str, ...], list[_Listed]] = {}
        for entry in _listed(self.router.routes):
            listed.setdefault(_leading_literals(_path_format(entry)), []).append(entry)
        self._listed = listed
        self._candidates = {}
        self._built_for = len(self.router.routes)
        # FastAPI tries routes of low priority (its frontend routes) and its own slash
        # redirect before the default: with either, a miss is left to it.
        low_priority = next(iter(self.router._iter_low_priority_routes()), None)
        self._misses_go_to_default = low_priority is None and not self.router.redirect_slashes

    def candidates(self, path: str) -> list[_Listed]:
        """The routes that may match `path`, in FastAPI's order."""
        if len(self.router.routes) != self._built_for:  # a route added since (tests do)
            self._build()
        key = tuple(path[1:].split("/", _DEPTH)[:_DEPTH])
        found = self._candidates.get(key)
        if found is None:
            lists = [self._listed.get(key[:depth], []) for depth in range(len(key) + 1)]
            found = sorted((entry for each in lists for entry in each), key=_order)
            if len(self._candidates) >= _KEPT_PREFIXES:
                self._candidates.clear()
            self._candidates[key] = found
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("root_path") or not scope["path"].startswith("/"):
            await self.dispatch(scope, receive, send)
            return
        partial = False
        for entry in self.candidates(scope["path"]):
            match, child_scope = entry.matches(scope)
            if match is Match.PARTIAL:
                partial = True  # a 405, unless a later route matches fully
            if match is not Match.FULL:
                continue
            if entry.context is None or not isinstance(entry.route, APIRoute):
                break  # not an API route of an included router: FastAPI hands it over
            await self._handle(entry, child_scope, scope, receive, send)
            return
        else:
            if not partial and self._misses_go_to_default:
                # No route can match: FastAPI would end in the router's default (the 404,
                # or the trailing-slash redirect) after trying every route once more.
                _apply_router_form_limits(scope, self.router.form_limits)
                if "router" not in scope:
                    scope["router"] = self.router
                await self.router.default(scope, receive, send)
                return
        await self.dispatch(scope, receive, send)

    def matches_any(self, scope: Scope) -> bool:
        """Whether any route matches the request, fully or but for its method."""
        return any(
            entry.matches(scope)[0] is not Match.NONE for entry in self.candidates(scope["path"])
        )

    async def _handle(
        self, entry: _Listed, child_scope: Scope, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """What FastAPI's router and the included routers around the route do on the way
        to it (`APIRouter.app`, `_IncludedRouter.handle`, `_handle_selected`)."""
        assert entry.context is not None
        assert isinstance(entry.route, APIRoute)
        _apply_router_form_limits(scope, self.router.form_limits)
        if "router" not in scope:
            scope["router"] = self.router
        routing = _get_fastapi_scope(scope)
        for included in entry.chain:
            _apply_router_form_limits(scope, included.include_context.form_limits)
            routing[_FASTAPI_INCLUDED_ROUTER_KEY] = included
        _update_scope(scope, child_scope)
        _route_selected(scope=scope, path=_path_format(entry))
        routing[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = entry.context
        scope["route"] = entry.route
        plan = self.plans.get(id(entry.route))
        app = scope.get("app")
        if plan is not None and isinstance(app, FastAPI) and not app.dependency_overrides:
            await plan.serve(app, scope, receive, send)
            return
        await entry.route.handle(scope, receive, send)


def _order(entry: _Listed) -> int:
    return entry.order


def install_route_index(router: APIRouter) -> RouteIndex:
    """Put the index where `router` dispatches (its middleware stack, FastAPI's `app`)."""
    index = RouteIndex(router, router.middleware_stack)
    router.middleware_stack = index
    return index
