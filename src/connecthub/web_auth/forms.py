"""Plumbing for server-rendered forms: Jinja templates and CSRF protection.

CSRF uses a double-submit token: a random value in an HttpOnly, SameSite=Lax cookie and
the same value in a hidden form field. A cross-site page can neither read the cookie nor
make the browser send it on a cross-site POST, so it cannot produce a matching pair.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from connecthub.config import Settings

CSRF_COOKIE = "connecthub_csrf"
CSRF_FIELD = "authenticity_token"

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def csrf_token(request: Request) -> str:
    """This browser's token (a new one when it has none yet; `render` sets the cookie)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing
    cached = getattr(request.state, "new_csrf", None)
    if isinstance(cached, str):
        return cached
    token = secrets.token_urlsafe(32)
    request.state.new_csrf = token
    return token


def csrf_valid(request: Request, submitted: object) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    return (
        isinstance(submitted, str)
        and bool(cookie)
        and secrets.compare_digest(submitted.encode(), (cookie or "").encode())
    )


def render(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    token = csrf_token(request)
    body = _templates.get_template(template).render(
        instance_title=settings.instance_title,
        csrf_field=CSRF_FIELD,
        csrf_token=token,
        **context,
    )
    response = HTMLResponse(body, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            path="/",
            httponly=True,
            samesite="lax",
            secure=settings.behind_tls,
        )
    return response
