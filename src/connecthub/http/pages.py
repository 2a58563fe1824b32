"""The one Jinja environment, shared by every server-rendered page (the front door, the
sign-in and sign-up pages, the OAuth consent page, the OpenID Connect steps).

Built once at import, autoescaping everything (every template is HTML). Templates live in
their domain's `templates/` folder and are named by the subfolder they sit in
(`auth/sign_in.html`, `oauth/authorize.html`, `oidc/link.html`, the front door's
`index.html`); the loader looks in every `connecthub/<package>/templates/`, so a domain that
moves keeps its pages without a change here.

Every page speaks the reader's language (core/i18n.py): the signed-in account's locale when
a dependency or handler has found it (`request.state.page_locale`, set by
web_auth/sessions.py), else the browser's `Accept-Language`, else English. Templates mark
their words with `{% trans %}` and `_()` (Jinja's i18n extension, new-style gettext, so
`%(name)s` placeholders are filled and escaped by Jinja).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.dates import format_datetime
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader

import connecthub
from connecthub.config import Settings
from connecthub.core import i18n
from connecthub.http import forms
from connecthub.http.responses import etag_matches, weak_etag

_PACKAGE = Path(connecthub.__file__).parent

environment = Environment(
    loader=FileSystemLoader(sorted(_PACKAGE.glob("*/templates"))),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # templates change only with a deploy
    extensions=["jinja2.ext.i18n"],
)
environment.globals["form_field"] = forms.FIELD


def _datetime(value: str | datetime) -> str:
    """A moment (an entity's ISO 8601 string, or a datetime) as the page's language writes
    it, in UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime(moment, "medium", tzinfo=UTC, locale=i18n.current())


environment.filters["datetime"] = _datetime


def _translated(message: object, **values: object) -> str:
    """A message the code chose (a title, an alert, a field's error: marked with `N_` where
    it is written) in the page's language, `%(name)s` placeholders filled from `values`.
    A message without a translation (one made at run time) is shown as it is."""
    if isinstance(message, i18n.Deferred):
        return message.translated()
    text = i18n.gettext(str(message)) if message else ""
    return text % values if values and "%(" in text else text


environment.filters["translated"] = _translated
# `{% trans %}` blocks are read with their whitespace collapsed, as `make translations`
# extracts them (babel.cfg), so a template's line breaks never change a msgid.
environment.policies["ext.i18n.trimmed"] = True
# The callables read the locale in effect (a context variable), so one environment serves
# every language at once.
environment.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
)


def page_locale(request: Request) -> str:
    """The language this request's page is shown in."""
    return i18n.choose(
        getattr(request.state, "page_locale", None), request.headers.get("accept-language")
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """`template` rendered with `context`, the instance's title and the page's `locale`, in
    that locale. A page that carries a form token also gets the browser's form cookie and
    is never cached."""
    settings: Settings = request.app.state.settings
    with i18n.using(page_locale(request)) as locale:
        body = environment.get_template(template).render(
            {"instance_title": settings.instance_title, "locale": locale, **context}
        )
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    # The language follows the request's Accept-Language (and cookie): shared caches must
    # key on it.
    response.headers.setdefault("Vary", "Accept-Language, Cookie")
    forms.bind_browser(request, response)
    return response


def render_cacheable(
    request: Request, template: str, context: dict[str, Any], *, cache_control: str
) -> Response:
    """A page a CDN or browser may keep (no form on it): `template` rendered as `render`
    does, with `cache_control`, a weak ETag of the body, and 304 without the body to a
    request whose `If-None-Match` names it."""
    page = render(request, template, context, headers={"Cache-Control": cache_control})
    etag = weak_etag(bytes(page.body))
    validators = {
        "Cache-Control": cache_control,
        "ETag": etag.decode(),
        "Vary": page.headers["Vary"],
    }
    wanted = request.headers.get("if-none-match")
    if wanted is not None and etag_matches(etag, wanted.encode()):
        return Response(status_code=304, headers=validators)
    page.headers["ETag"] = validators["ETag"]
    return page
