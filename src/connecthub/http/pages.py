"""The one Jinja environment, shared by every server-rendered page (the front door, the
sign-in and sign-up pages, the OAuth consent page, the OpenID Connect steps).

Built once at import, autoescaping everything (every template is HTML). Templates live in
their domain's `templates/` folder and are named by the subfolder they sit in
(`auth/sign_in.html`, `oauth/authorize.html`, `oidc/link.html`, the front door's
`index.html`); the loader looks in every `connecthub/<package>/templates/`, so a domain that
moves keeps its pages without a change here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader

import connecthub
from connecthub.config import Settings
from connecthub.http import forms

_PACKAGE = Path(connecthub.__file__).parent

environment = Environment(
    loader=FileSystemLoader(sorted(_PACKAGE.glob("*/templates"))),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,  # templates change only with a deploy
)
environment.globals["form_field"] = forms.FIELD


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """`template` rendered with `context` and the instance's title. A page that carries a
    form token also gets the browser's form cookie and is never cached."""
    settings: Settings = request.app.state.settings
    body = environment.get_template(template).render(
        {"instance_title": settings.instance_title, **context}
    )
    response = HTMLResponse(body, status_code=status_code, headers=headers)
    forms.bind_browser(request, response)
    return response
