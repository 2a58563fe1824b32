"""The front door: server-rendered pages that need no JavaScript, and their static files.

Pages carry no inline script (the Content-Security-Policy forbids it); styles come from
`/static/site.css`. Sign-up and sign-in pages live with the accounts domain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse

from connecthub import __version__
from connecthub.config import Settings
from connecthub.core.i18n import N_
from connecthub.http import pages
from connecthub.http.deps import SettingsDep, UowDep
from connecthub.instance import service as instance
from connecthub.privacy import documents
from connecthub.web import app_shell
from connecthub.web.files import ListedFiles

router = APIRouter(tags=["web"])

_HERE = Path(__file__).parent

_STATIC_FILES = ListedFiles(
    _HERE / "static",
    {
        "site.css": "text/css; charset=utf-8",
        "preview.png": "image/png",
        "icon-192.png": "image/png",
        "icon-512.png": "image/png",
        "favicon.ico": "image/x-icon",
    },
)


def _page_context(settings: Settings) -> dict[str, Any]:
    return {
        "title": settings.instance_title,
        "description": settings.instance_description,
        "domain": settings.local_domain,
        "rules": instance.rules(settings),
        "registrations_open": instance.registrations_open(settings),
        "approval_required": instance.approval_required(settings),
        "min_age": settings.min_signup_age,
        "contact_email": settings.instance_contact_email,
        "source_url": settings.instance_source_url,
        "version": __version__,
        "api_docs": settings.serves_api_docs,
        "web_app": app_shell.is_built(settings),
    }


@router.get("/", response_class=HTMLResponse, summary="The front door (HTML)")
async def front_door(request: Request, settings: SettingsDep) -> Response:
    """The app's home for a browser whose app is signed in (ADR 0054); for everyone else
    the server-rendered front door (no JavaScript needed, in the visitor's language)."""
    if app_shell.wants_app(request, settings):
        return app_shell.shell(request, settings)
    return pages.render(request, "index.html", _page_context(settings))


@router.head("/", include_in_schema=False)
async def front_door_head(request: Request, settings: SettingsDep) -> Response:
    return await front_door(request, settings)


@router.get("/about", response_class=HTMLResponse, summary="About this server (HTML)")
async def about(request: Request, settings: SettingsDep, uow: UowDep) -> HTMLResponse:
    counts = await instance.stats(uow.session, uow.engines.cache, settings)
    paragraphs = [p.strip() for p in settings.instance_description.split("\n\n") if p.strip()]
    context = {
        **_page_context(settings),
        "paragraphs": paragraphs,
        "user_count": counts.users,
        "active_month": counts.active_month,
        "languages": settings.instance_languages,
    }
    return pages.render(request, "about.html", context)


async def _document_page(
    request: Request, settings: Settings, uow: UowDep, kind: str, heading: str
) -> HTMLResponse:
    """The version in effect, as the API serves it (404 until one is published)."""
    row, _versions = await documents.shown(uow.session, kind)
    context = {
        **_page_context(settings),
        "heading": heading,
        "effective_date": row.effective_date.isoformat(),
        # Rendered from Markdown and sanitised (core/html.markdown_to_html): safe to embed.
        "content": documents.render(settings, row),
    }
    return pages.render(request, "document.html", context)


@router.get("/privacy-policy", response_class=HTMLResponse, summary="The privacy policy (HTML)")
async def privacy_policy(request: Request, settings: SettingsDep, uow: UowDep) -> HTMLResponse:
    return await _document_page(
        request, settings, uow, documents.PRIVACY_POLICY, N_("Privacy policy")
    )


@router.get("/terms-of-service", response_class=HTMLResponse, summary="The terms of service (HTML)")
async def terms_of_service(request: Request, settings: SettingsDep, uow: UowDep) -> HTMLResponse:
    return await _document_page(
        request, settings, uow, documents.TERMS_OF_SERVICE, N_("Terms of service")
    )


@router.get(
    "/static/{name}",
    response_class=FileResponse,
    summary="Static files of the server-rendered pages (styles, icons, preview image)",
    responses={200: {"content": {"image/png": {}, "text/css": {}}}, 404: {}},
)
async def static_file(name: str) -> FileResponse:
    return _STATIC_FILES.response(name)


@router.get(
    "/favicon.ico",
    response_class=FileResponse,
    summary="The site icon browsers and clients ask for on every load",
    responses={200: {"content": {"image/x-icon": {}}}},
)
async def favicon() -> FileResponse:
    return await static_file("favicon.ico")
