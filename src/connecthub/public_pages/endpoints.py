"""Public pages: `/@username`, `/@username/:id` and `/tags/:tag`, rendered by the server
for anyone allowed to see them, with no JavaScript (the `url` of every Account and Status
the API returns points here).

A page carries OpenGraph and Twitter card meta and a canonical link; it may be kept by a
CDN: an anonymous visitor's page is `public` for a short while, a signed-in visitor's
(their own view: followers-only posts they may read) `private`, both with a weak ETag and
304 to `If-None-Match`. The visitor is the browser's signed-in account (the web session
cookie) or nobody; the language theirs (http/pages.py). A browser whose web app is signed
in (its `connecthub_app` cookie) gets the app's shell at the same address instead, and the
app shows the profile, post or hashtag (ADR 0054); the pages vary with `Cookie`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from connecthub.config import Settings
from connecthub.core.i18n import N_
from connecthub.errors import Forbidden, Gone, NotFound, ValidationFailed
from connecthub.http import pages
from connecthub.http.deps import SettingsDep, UowDep, path_id
from connecthub.ids import parse_id
from connecthub.infra.uow import UnitOfWork
from connecthub.public_pages import service
from connecthub.web import app_shell
from connecthub.web_auth.sessions import current_web_user

router = APIRouter(tags=["web"])

# Anonymous pages are the same for every visitor with the same language: a CDN may keep
# them a minute (a deleted post disappears from it within that minute).
PUBLIC_CACHE = "public, max-age=60"
PRIVATE_CACHE = "private, no-cache"
_ERROR_TITLES = {
    403: N_("This account is suspended"),
    404: N_("Not found"),
    410: N_("This account is gone"),
    422: N_("This address is not valid"),
}


async def _viewer(request: Request, uow: UnitOfWork) -> int | None:
    found = await current_web_user(request, uow)
    return found[1].id if found else None


def _max_id(request: Request) -> int | None:
    raw = request.query_params.get("max_id")
    if raw in (None, ""):
        return None
    number = parse_id(raw)
    if number is None:
        raise ValidationFailed("max_id", "is not a valid id")
    return number


def _context(settings: Settings, viewer_id: int | None, context: dict[str, Any]) -> dict[str, Any]:
    return {
        "domain": settings.local_domain,
        "base_url": settings.base_url,
        "signed_in": viewer_id is not None,
        **context,
    }


def _cache_control(viewer_id: int | None) -> str:
    return PRIVATE_CACHE if viewer_id is not None else PUBLIC_CACHE


def _page(
    request: Request,
    settings: Settings,
    viewer_id: int | None,
    template: str,
    context: dict[str, Any],
) -> Response:
    return pages.render_cacheable(
        request,
        template,
        _context(settings, viewer_id, context),
        cache_control=_cache_control(viewer_id),
    )


def _error(
    request: Request, settings: Settings, viewer_id: int | None, error: Exception
) -> Response:
    """The error's page (no ETag: a 404 is never "not modified"), kept as briefly as a page."""
    status_code = getattr(error, "status_code", 404)
    title = _ERROR_TITLES.get(status_code, _ERROR_TITLES[404])
    return pages.render(
        request,
        "public/error.html",
        _context(settings, viewer_id, {"title": title, "status_code": status_code}),
        status_code=status_code,
        headers={"Cache-Control": _cache_control(viewer_id)},
    )


_MISSING = (NotFound, Gone, Forbidden, ValidationFailed)


@router.head("/@{username}", include_in_schema=False)
@router.get(
    "/@{username}",
    response_class=HTMLResponse,
    summary="A profile and its latest posts (HTML; `?max_id=` for older ones)",
)
async def profile_page(
    username: str, request: Request, uow: UowDep, settings: SettingsDep
) -> Response:
    if app_shell.wants_app(request, settings):
        return app_shell.shell(request, settings)  # the app shows it (ADR 0054)
    viewer_id = await _viewer(request, uow)
    try:
        found = await service.profile(uow, settings, viewer_id, username, _max_id(request))
    except _MISSING as error:
        return _error(request, settings, viewer_id, error)
    return _page(
        request,
        settings,
        viewer_id,
        "public/profile.html",
        {
            "account": found.account,
            "description": found.description,
            "listing": found.listing,
            "pinned": found.pinned,
            "canonical": found.account["url"],
        },
    )


@router.head("/@{username}/{status_id}", include_in_schema=False)
@router.get(
    "/@{username}/{status_id}",
    response_class=HTMLResponse,
    summary="A post and its thread (HTML)",
)
async def status_page(
    username: str, status_id: str, request: Request, uow: UowDep, settings: SettingsDep
) -> Response:
    if app_shell.wants_app(request, settings):
        return app_shell.shell(request, settings)  # the app shows it (ADR 0054)
    viewer_id = await _viewer(request, uow)
    try:
        found = await service.status(uow, settings, viewer_id, username, path_id(status_id))
    except _MISSING as error:
        return _error(request, settings, viewer_id, error)
    if isinstance(found, service.Redirect):
        return RedirectResponse(found.url, status_code=301)
    return _page(
        request,
        settings,
        viewer_id,
        "public/status.html",
        {
            "page": found,
            "status": found.status,
            "account": found.status["account"],
            "description": found.description,
            "canonical": found.status["url"],
        },
    )


@router.head("/tags/{tag}", include_in_schema=False)
@router.get(
    "/tags/{tag}",
    response_class=HTMLResponse,
    summary="The latest public posts with a hashtag (HTML; `?max_id=` for older ones)",
)
async def tag_page(tag: str, request: Request, uow: UowDep, settings: SettingsDep) -> Response:
    if app_shell.wants_app(request, settings):
        return app_shell.shell(request, settings)  # the app shows it (ADR 0054)
    viewer_id = await _viewer(request, uow)
    try:
        found = await service.tag(uow, settings, viewer_id, tag, _max_id(request))
    except _MISSING as error:
        return _error(request, settings, viewer_id, error)
    return _page(
        request,
        settings,
        viewer_id,
        "public/tag.html",
        {"tag": found.name, "listing": found.listing, "canonical": found.url},
    )


@router.get("/users/{username}", include_in_schema=False)
async def account_uri(username: str, settings: SettingsDep) -> RedirectResponse:
    """An account's `uri`, opened in a browser: its profile page (as Mastodon redirects)."""
    return RedirectResponse(f"{settings.base_url}/@{username}", status_code=301)


@router.get("/users/{username}/statuses/{status_id}", include_in_schema=False)
async def status_uri(username: str, status_id: str, settings: SettingsDep) -> RedirectResponse:
    """A status' `uri`, opened in a browser: its page."""
    return RedirectResponse(
        f"{settings.base_url}/@{username}/{path_id(status_id)}", status_code=301
    )
