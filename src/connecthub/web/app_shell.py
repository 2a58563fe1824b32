"""The first-party web app (the `web/` project, docs/web-app.md), served from its build.

Mounted at `/web/` (docs/adr/0047-web-app.md): every path under it that is not a built
file gets the app's shell (`index.html`), whose router shows the screen. Built files carry
their content's hash in their names, so they are cached for a year and marked immutable;
the shell, the service worker and the manifest are revalidated on every load, so a deploy
reaches everyone at their next visit. The build writes brotli and gzip copies next to each
file (`web/scripts/compress.mjs`): they are sent as they are to clients that accept them.

Only files found in the build directory are served, by their names in a listing made once
per build; nothing a client sends becomes a file path. The shell has its own
Content-Security-Policy: scripts and styles from this origin only (no inline script or
style), and connections only to this origin and the streaming URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

import connecthub
from connecthub.config import Settings
from connecthub.errors import NotFound
from connecthub.http.compression import accepted_codings
from connecthub.http.deps import SettingsDep
from connecthub.instance import service as instance

router = APIRouter(tags=["web"])

PREFIX = "/web"
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
        headers["Service-Worker-Allowed"] = f"{PREFIX}/"
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


@router.api_route(PREFIX, methods=["GET", "HEAD"], include_in_schema=False)
@router.head(PREFIX + "/{path:path}", include_in_schema=False)
@router.get(
    PREFIX + "/{path:path}",
    summary="The web app: its built files, and its shell for every screen's address (HTML)",
    responses={200: {"content": {"text/html": {}}}, 404: {}},
)
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
