"""The route index (http/route_index.py) picks, for every route the app has, the route
FastAPI's own dispatch picks, with the same path parameters and routing context."""

from __future__ import annotations

import gc
import re
from multiprocessing import forkserver
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import (
    _FASTAPI_SCOPE_KEY,
    APIRoute,
    _EffectiveRouteContext,
    _IncludedRouter,
)
from starlette.exceptions import HTTPException

import connecthub.serving  # noqa: F401  (sets the fork server's preload)
from connecthub.http.route_index import RouteIndex, _listed, _path_format
from connecthub.routes import _INCLUDED, compile_included_routes
from tests.conftest import TestEnv, running_app

_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")


def _sample(path_format: str) -> str:
    """A path the pattern matches: each parameter given a value of its kind."""
    return _PARAM.sub(lambda m: "a/b" if m.group(2) == "path" else "7", path_format)


def _scope(app: FastAPI, method: str, path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "app": app,
        "state": {},
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
    }


async def _outcome(dispatch: Any, app: FastAPI, method: str, path: str) -> tuple[Any, ...]:
    """Which route handled the request and what it found in the scope, or how it failed."""
    seen: list[tuple[Any, ...]] = []

    async def handle(route: APIRoute, scope: Any, receive: Any, send: Any) -> None:
        # FastAPI's routing state (the route's context, the included router, form limits).
        routing = dict(scope.get(_FASTAPI_SCOPE_KEY, {}))
        seen.append((route, dict(scope["path_params"]), scope["route"], routing))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(APIRoute, "handle", handle)
        try:
            await dispatch(_scope(app, method, path), receive, send)
        except HTTPException as exc:
            return ("refused", exc.status_code)
    if seen:
        return ("route", *seen[0])
    return ("answered", sent[0]["status"] if sent else None)


@pytest.mark.slow
async def test_every_route_is_found_as_fastapi_finds_it(app: FastAPI) -> None:
    index = app.router.middleware_stack
    assert isinstance(index, RouteIndex)
    index.plans = {}  # which route is picked, not how it is served (test_fast_routes.py)
    listed = _listed(app.router.routes)
    paths = {_sample(fmt) for entry in listed if (fmt := _path_format(entry))}
    # Near misses too: a trailing slash added or taken away, an unknown resource.
    paths |= {path.rstrip("/") if path.endswith("/") else f"{path}/" for path in set(paths)}
    paths |= {"/api/v1/nope", "/api/v1/statuses/7/nope", "/nope", "/"}
    methods = ("GET", "POST", "PUT", "PATCH", "DELETE")
    compared = routed = 0
    for path in sorted(paths):
        for method in methods:
            ours = await _outcome(index, app, method, path)
            fastapis = await _outcome(index.dispatch, app, method, path)
            assert ours == fastapis, f"{method} {path}"
            compared += 1
            routed += ours[0] == "route"
    assert len(listed) > 300  # every route of the app was among them
    assert routed > 300, routed
    assert compared == len(paths) * len(methods)


async def test_a_route_added_after_the_first_request_is_found(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    index = app.router.middleware_stack
    assert isinstance(index, RouteIndex)

    def candidates() -> list[str]:
        return [getattr(entry.route, "path", "") for entry in index.candidates("/test/added")]

    assert "/test/added" not in candidates()

    async def added() -> dict[str, str]:
        return {"added": "yes"}

    app.add_api_route("/test/added", added)
    # Listed last, after the routes that take any path (the web app's shell), as FastAPI
    # tries it; and served.
    assert candidates()[-1] == "/test/added"
    assert "/{path:path}" in candidates()
    response = await client.get("/test/added")
    assert response.json() == {"added": "yes"}


async def test_routes_compiled_before_the_fork_leave_nothing_for_a_first_request(
    test_env: TestEnv,
) -> None:
    """`serve --workers` forks its server processes from a fork server that preloads
    `connecthub.preforked`, which compiles the included routes there: a forked process's
    first request finds them compiled (it compiled them itself before, ~0.3 s of CPU). Only
    each app's own documentation routes (FastAPI's, four) are left for it."""
    assert "connecthub.preforked" in forkserver._forkserver._preload_modules  # type: ignore[attr-defined]
    for branch in _INCLUDED.routes:  # as a process that has not compiled them yet
        assert isinstance(branch, _IncludedRouter)
        branch._effective_candidates_version = None
        branch._effective_low_priority_routes_version = None
    compile_included_routes()
    build = _EffectiveRouteContext.from_api_route.__func__  # type: ignore[attr-defined]
    compiled: list[str] = []

    def compiling(cls: type, *args: Any, **kwargs: Any) -> Any:
        compiled.append(kwargs["original_route"].path)
        return build(cls, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_EffectiveRouteContext, "from_api_route", classmethod(compiling))
        async with running_app(test_env) as (_app, client):
            assert (await client.get("/api/v1/statuses/1")).status_code == 404
            assert (await client.get("/api/v1/accounts/lookup?acct=nobody")).status_code == 404
    assert compiled, "the app's own documentation routes are compiled on its first request"
    assert {path.split("/")[1] for path in compiled} <= {"docs", "redoc"}, compiled


def test_the_fork_servers_preload_runs_with_the_collector_paused_and_freezes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fork server's preload (`connecthub.preforked`) imports the app and compiles the
    routes with the collector off (its passes over the objects the import makes were ~20 %
    of a fresh fork server's start), then freezes what exists and turns the collector on."""
    import importlib

    import connecthub.preforked
    import connecthub.routes

    seen: list[bool] = []
    monkeypatch.setattr(
        connecthub.routes, "compile_included_routes", lambda: seen.append(gc.isenabled())
    )
    gc.unfreeze()
    try:
        importlib.reload(connecthub.preforked)
        assert seen == [False], "the routes are compiled with the collector paused"
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
