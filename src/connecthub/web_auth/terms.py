"""New terms of service accepted between a complete sign-in and its session (ADR 0032):
the page every browser sign-in (password or OpenID Connect) shows when a published version
is in effect that the account has not accepted. Its form posts to `/auth/terms`
(endpoints.py) with a signed token bound to the password (its own salt) and the version."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from connecthub.accounts.models import User
from connecthub.accounts.signed_tokens import terms_token
from connecthub.config import Settings
from connecthub.core.i18n import N_
from connecthub.errors import NotFound
from connecthub.http import forms, pages
from connecthub.infra.uow import UnitOfWork
from connecthub.privacy import documents
from connecthub.privacy import service as privacy

TERMS = forms.PageForm("terms", (("POST", "/auth/terms"),))


async def ask_if_needed(
    request: Request, uow: UnitOfWork, settings: Settings, user: User, next_path: str
) -> HTMLResponse | None:
    """The terms page when the account must accept the version in effect, else None."""
    # The sign-in's own writes wait for its session's: asking must not flush them early.
    with uow.session.no_autoflush:
        must_accept = await privacy.must_accept_terms(uow.session, user.account_id)
    return await page(request, uow, settings, user, next_path) if must_accept else None


async def page(
    request: Request,
    uow: UnitOfWork,
    settings: Settings,
    user: User,
    next_path: str,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """The terms in effect, with the one button that accepts them and signs in."""
    current = await privacy.terms_acceptance(uow.session, settings, user.account_id)
    try:
        row, _versions = await documents.shown(uow.session, documents.TERMS_OF_SERVICE)
        content: str | None = documents.render(settings, row)
    except NotFound:
        content = None
    context = {
        "title": N_("New terms of service"),
        "content": content,
        "version": current["current_version"],
        "challenge": terms_token(settings.secret_key, user),
        "next_path": next_path,
        "form_token": TERMS.token(request),
    }
    return pages.render(
        request,
        "auth/terms.html",
        context,
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )
