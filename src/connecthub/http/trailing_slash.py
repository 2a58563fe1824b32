"""The redirect to the same path with or without a trailing slash, pointed at this
server's configured origin (`Settings.base_url`).

Starlette's own version builds the `Location` from the request's Host header, which any
client can forge; this one keeps its behaviour (a 307 when only the slash differs) and
takes the origin from LOCAL_DOMAIN instead.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import RedirectResponse
from starlette.routing import Match
from starlette.types import Receive, Scope, Send

from connecthub.http.route_index import RouteIndex


def install_trailing_slash_redirect(app: FastAPI) -> None:
    router = app.router
    router.redirect_slashes = False
    not_found = router.default

    async def default(scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if scope["type"] == "http" and path != "/":
            other = path.rstrip("/") if path.endswith("/") else path + "/"
            moved = {**scope, "path": other}
            index = router.middleware_stack  # http/route_index.py, when installed
            if (
                index.matches_any(moved)
                if isinstance(index, RouteIndex)
                else any(route.matches(moved)[0] is not Match.NONE for route in router.routes)
            ):
                query = scope.get("query_string", b"").decode("latin-1")
                location = app.state.settings.base_url + other + (f"?{query}" if query else "")
                await RedirectResponse(location)(scope, receive, send)
                return
        await not_found(scope, receive, send)

    router.default = default
