"""The first-party web app (the `web/` project, docs/web-app.md), served from its build.

Served at the root (ADR 0054, which replaced ADR 0047's `/web/` prefix): every GET of a
path that no server route answers, whose first segment is none of the server's own
(`/api`, `/auth`, `/oauth`, `/.well-known`, `/about`, ...: read from the app's routes) and
that names no file, gets the app's shell (`index.html`), whose router shows the screen.
Three addresses are shared with the server's pages and decided per request
(`wants_app`): the front door `/` and the public pages `/@user`, `/@user/:id`,
`/tags/:tag` give a browser that carries the app's cookie (`connecthub_app`, set by the
app while it holds a session) the shell, and everyone else the server-rendered page.
The old addresses under `/web/` answer 301 to the same address without the prefix; the
old service worker at `/web/sw.js` is replaced by one that unregisters itself.

Built files carry their content's hash in their names, so they are cached for a year and
marked immutable; the shell, the service worker and the manifest are revalidated on every
load, so a deploy reaches everyone at their next visit. The build writes brotli and gzip
copies next to each file (`web/scripts/compress.mjs`): they are sent as they are to
clients that accept them.

Only files found in the build directory are served, by their names in a listing made once
per build; nothing a client sends becomes a file path. The shell has its own
Content-Security-Policy: scripts and styles from this origin only (no inline script or
style), and connections only to this origin and the streaming URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

import connecthub
from connecthub.config import Settings
from connecthub.errors import NotFound
from connecthub.http.compression import accepted_codings
from connecthub.http.deps import SettingsDep
from connecthub.instance import service as instance

router = APIRouter(tags=["web"])

OLD_PREFIX = "/web"
# Set by the app while it holds a session (web/src/app.tsx): `wants_app`.
APP_COOKIE = "connecthub_app"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
ICON_CACHE = "public, max-age=86400"
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
_PRECOMPRESSED = ((b"br", ".br", "br"), (b"gzip", ".gz", "gzip"))


def build_dir(settings: Settings) -> Path:
    if settings.web_app_dir:
        return Path(settings.web_app_dir)
    # src/connecthub/ -> the checkout's web/dist
    return Path(connecthub.__file__).resolve().parents[2] / "web" / "dist"


@dataclass(frozen=True)
class _Build:
    stamp: int
    files: frozenset[str]


_builds: dict[Path, _Build] = {}


def _listing(root: Path) -> frozenset[str] | None:
    """The build's file names (relative, `/`-separated), or None when there is no build.
    Listed again when `index.html` changes (a new build)."""
    try:
        stamp = (root / "index.html").stat().st_mtime_ns
    except OSError:
        return None
    known = _builds.get(root)
    if known is not None and known.stamp == stamp:
        return known.files
    names = set()
    for folder, _dirs, files in os.walk(root):
        for name in files:
            names.add((Path(folder) / name).relative_to(root).as_posix())
    _builds[root] = _Build(stamp, frozenset(names))
    return _builds[root].files


def is_built(settings: Settings) -> bool:
    """Whether there is a build to serve (the front door then links to the app)."""
    return _listing(build_dir(settings)) is not None


def content_security_policy(settings: Settings) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob: https:",
            "media-src 'self' blob: https:",
            f"connect-src 'self' {instance.streaming_url(settings)}",
            "worker-src 'self'",
            "manifest-src 'self'",
            "font-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
        ]
    )


def cache_control(name: str) -> str:
    if name.startswith("assets/") or (name.startswith("workbox-") and name.endswith(".js")):
        return IMMUTABLE
    if name.endswith(".png") or name.endswith(".ico"):
        return ICON_CACHE
    return REVALIDATE  # the shell, sw.js, the manifest


def _send(
    request: Request, root: Path, files: frozenset[str], name: str, settings: Settings
) -> Response:
    suffix = Path(name).suffix
    headers = {"Cache-Control": cache_control(name), "Vary": "Accept-Encoding"}
    if suffix == ".html":
        headers["Content-Security-Policy"] = content_security_policy(settings)
    if name == "sw.js":
        headers["Service-Worker-Allowed"] = "/"
    accepted = accepted_codings(request.headers.get("accept-encoding", "").encode())
    path = root / name
    for coding, extension, header in _PRECOMPRESSED:
        if coding in accepted and f"{name}{extension}" in files:
            path = root / f"{name}{extension}"
            headers["Content-Encoding"] = header
            break
    return FileResponse(
        path, media_type=_TYPES.get(suffix, "application/octet-stream"), headers=headers
    )


def wants_app(request: Request, settings: Settings) -> bool:
    """Whether a page shared with the server (`/`, a public page) should be the app's shell:
    a browser whose app holds a session says so with its cookie (a hint, no secret: the
    app still needs its token), and only if there is a build to serve."""
    return (
        request.method in ("GET", "HEAD")
        and request.cookies.get(APP_COOKIE) == "1"
        and is_built(settings)
    )


def shell(request: Request, settings: Settings) -> Response:
    """The app's shell (the caller checked `is_built`), varying with the app's cookie."""
    root = build_dir(settings)
    files = _listing(root)
    if files is None:
        raise NotFound("The web app is not built on this server (make run builds it)")
    response = _send(request, root, files, "index.html", settings)
    response.headers["Vary"] = "Accept-Encoding, Cookie"
    return response


# The service worker browsers installed while the app lived at /web/ asks for its update
# there. A redirect would fail the update and keep it serving the old shell for /web/ pages,
# so it gets a worker that removes itself and reloads its pages (they then get the 301).
RETIRED_WORKER = b"""self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    await self.registration.unregister();
    const pages = await self.clients.matchAll({ type: "window" });
    for (const page of pages) page.navigate(page.url);
  })());
});
"""


@router.api_route(OLD_PREFIX, methods=["GET", "HEAD"], include_in_schema=False)
@router.api_route(OLD_PREFIX + "/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def old_address(request: Request, settings: SettingsDep, path: str = "") -> Response:
    """The app's addresses before it moved to the root: 301 to the same address without
    `/web` (query kept), and the retiring service worker."""
    if path == "sw.js":
        return Response(
            RETIRED_WORKER,
            media_type=_TYPES[".js"],
            headers={"Cache-Control": REVALIDATE, "Service-Worker-Allowed": OLD_PREFIX + "/"},
        )
    query = request.url.query
    target = f"{settings.base_url}/{path}" + (f"?{query}" if query else "")
    return RedirectResponse(target, status_code=301)


class _AppRoute(APIRoute):
    """The shell's catch-all, routed last: it matches only GET and HEAD (other methods keep
    their 404) of a path whose first segment is none of the server's own routes'."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return Match.NONE, {}
        first = scope["path"].lstrip("/").split("/", 1)[0]
        if first in _server_segments(scope["app"]):
            return Match.NONE, {}
        return super().matches(scope)


# Never the app's, even before the routes that answer under them are added.
_ALWAYS_SERVERS = frozenset(
    {
        "api",
        "auth",
        "oauth",
        ".well-known",
        "static",
        "health",
        "metrics",
        "nodeinfo",
        "users",
        "web",
        "system",
        "docs",
        "redoc",
        "openapi.json",
        "favicon.ico",
        "robots.txt",
    }
)
_segments: dict[int, tuple[int, frozenset[str]]] = {}


def _server_segments(app: Any) -> frozenset[str]:
    """The first path segments of the server's routes that are not parameters (`/api`,
    `/about`, ...), read from the app once per set of routes."""
    routes = app.router.routes
    known = _segments.get(id(app))
    if known is not None and known[0] == len(routes):
        return known[1]
    names = set(_ALWAYS_SERVERS)
    for route in routes:
        path = getattr(route, "path", None)
        if not isinstance(path, str) or isinstance(route, _AppRoute):
            continue
        first = path.lstrip("/").split("/", 1)[0]
        if first and "{" not in first:
            names.add(first)
    _segments[id(app)] = (len(routes), frozenset(names))
    return _segments[id(app)][1]


# Routed after every other router (routes.py): the built files at the root, and the shell
# for every other address of the app.
fallback_router = APIRouter(tags=["web"], route_class=_AppRoute)


@fallback_router.api_route("/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def web_app(request: Request, settings: SettingsDep, path: str = "") -> Response:
    root = build_dir(settings)
    files = _listing(root)
    if files is None:
        raise NotFound("The web app is not built on this server (make run builds it)")
    if path in files and not path.endswith((".br", ".gz")):
        return _send(request, root, files, path, settings)
    if path.startswith("assets/") or Path(path).suffix in _TYPES:
        raise NotFound("No such file")  # a missing file, not a screen: no shell
    return _send(request, root, files, "index.html", settings)
