"""The interactive API documentation: Swagger UI at `/docs` and ReDoc at `/redoc`, over
`/openapi.json`. Their scripts and styles come from the installed `fastapi-offline` package
and are served from `/docs/assets/`, so the pages load nothing from another host: a CDN
script would run with this origin's cookies. Installed only when API_DOCS_ENABLED says so
(on outside production by default).

The pages carry the server's Content-Security-Policy, with Swagger UI's one inline start-up
script allowed by its hash and ReDoc's search worker (a blob: URL) allowed to start.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.resources
import re
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse

from connecthub.http.security import CONTENT_SECURITY_POLICY
from connecthub.web.files import ListedFiles

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
ASSETS_PATH = "/docs/assets"
FAVICON_PATH = "/favicon.ico"

_ASSETS = ListedFiles(
    Path(str(importlib.resources.files("fastapi_offline") / "static")),
    {
        "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
        "swagger-ui.css": "text/css; charset=utf-8",
        "redoc.standalone.js": "text/javascript; charset=utf-8",
    },
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _policy(page: str) -> str:
    """The site's policy plus the hashes of the page's own inline scripts."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(page)
    ]
    script_src = " ".join(["script-src 'self'", *hashes])
    return (
        CONTENT_SECURITY_POLICY.replace("script-src 'self'", script_src)
        + "; worker-src 'self' blob:"
    )


def _page(response: HTMLResponse) -> HTMLResponse:
    body = bytes(response.body).decode()
    return HTMLResponse(body, headers={"Content-Security-Policy": _policy(body)})


# Built once: an app includes it whole (FastAPI then adds no routes of its own per app).
router = APIRouter(include_in_schema=False)


def _openapi_url(request: Request) -> str:
    url = request.app.openapi_url
    assert url is not None, "the docs pages need the OpenAPI document"
    return str(url)


@router.get(DOCS_PATH)
async def swagger_ui(request: Request) -> HTMLResponse:
    return _page(
        get_swagger_ui_html(
            openapi_url=_openapi_url(request),
            title=f"{request.app.title} - Swagger UI",
            oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=FAVICON_PATH,
            # No badge fetched from the public validator service.
            swagger_ui_parameters={"validatorUrl": None},
        )
    )


@router.get(OAUTH2_REDIRECT_PATH)
async def swagger_ui_oauth2_redirect() -> HTMLResponse:
    return _page(get_swagger_ui_oauth2_redirect_html())


@router.get(REDOC_PATH)
async def redoc(request: Request) -> HTMLResponse:
    return _page(
        get_redoc_html(
            openapi_url=_openapi_url(request),
            title=f"{request.app.title} - ReDoc",
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=FAVICON_PATH,
            with_google_fonts=False,
        )
    )


@router.get(ASSETS_PATH + "/{name}")
async def asset(name: str) -> FileResponse:
    return _ASSETS.response(name)


def install_api_docs(app: FastAPI) -> None:
    """Adds the two documentation pages and their assets to `app` (which must serve its
    OpenAPI document)."""
    assert app.openapi_url is not None, "the docs pages need the OpenAPI document"
    app.include_router(router)
