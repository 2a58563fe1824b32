"""The one CSRF / signed-form mechanism for every server-rendered form.

Each form (sign-in, sign-up, the OAuth consent page, the OpenID Connect steps, …) is a
`PageForm` with a name. The page carries a hidden `authenticity_token`: an itsdangerous
token signed with SECRET_KEY under a salt naming the form, holding the time it was issued,
a digest of this browser's form cookie (a random value, HttpOnly, SameSite=Lax) and,
optionally, the state the form needs back (the OAuth request being approved, the OIDC
attempt). A submission is accepted only when the token is genuine, younger than the form's
`max_age`, made for this same form, and bound to the cookie this browser sends. A
cross-site page can neither read the cookie nor obtain a token bound to it, and a token
taken from one form is worthless on another.

itsdangerous (already used for e-mail tokens) does the signing and the expiry; only the
binding to the browser and the list of forms are ours.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

from connecthub import clock
from connecthub.config import Settings
from connecthub.core.i18n import N_

FIELD = "authenticity_token"
HEADER = "x-csrf-token"  # for scripts that post without the hidden field
COOKIE = "connecthub_csrf"
DEFAULT_MAX_AGE = 3 * 3600
REFUSED = N_(
    "This form has expired or was not issued by this server. Please go back and try again."
)

_NEW_BROWSER = "new_form_browser"
_PAGE_HAS_FORM = "page_has_form"


class _ClockSigner(TimestampSigner):
    """Reads "now" from the one clock; `issued_at` signs as of an earlier instant."""

    def __init__(self, *args: Any, issued_at: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._issued_at = issued_at

    def get_timestamp(self) -> int:
        if self._issued_at is not None:
            return self._issued_at
        return clock.epoch_ms() // 1000


def _serializer(
    secret_key: str, form_name: str, issued_at: int | None = None
) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        secret_key,
        salt=f"connecthub.form.{form_name}",
        signer=_ClockSigner,
        signer_kwargs={"issued_at": issued_at},
    )


def _digest(browser: str) -> str:
    # The page never shows the cookie itself, only this digest of it.
    return hashlib.sha256(browser.encode()).hexdigest()[:32]


def sign_token(
    secret_key: str,
    form_name: str,
    browser: str,
    payload: Any = None,
    *,
    issued_at: int | None = None,
) -> str:
    """A token for `form_name`, bound to the browser whose form cookie is `browser`."""
    signed = _serializer(secret_key, form_name, issued_at).dumps(
        {"b": _digest(browser), "p": payload}
    )
    return str(signed)


@dataclass(frozen=True)
class Accepted:
    """A submission whose token checked out, with the state the page put in it."""

    payload: Any


@dataclass(frozen=True)
class PageForm:
    """A server-rendered form: its name (the token's salt), the routes it posts to (method,
    path; `{provider}`-style parts as in the router) and how long a page stays usable."""

    name: str
    routes: tuple[tuple[str, str], ...]
    max_age: int = DEFAULT_MAX_AGE

    def __post_init__(self) -> None:
        if self.name in ALL_FORMS:
            raise ValueError(f"two forms are named {self.name!r}")
        ALL_FORMS[self.name] = self

    def token(self, request: Request, payload: Any = None) -> str:
        """The hidden field's value for a page rendered to this browser."""
        setattr(request.state, _PAGE_HAS_FORM, True)
        return sign_token(_settings(request).secret_key, self.name, browser(request), payload)

    def check(self, request: Request, submitted: object) -> Accepted | None:
        """The submission's state, or None when its token is missing, forged, expired,
        made for another form or for another browser."""
        cookie = request.cookies.get(COOKIE)
        if not isinstance(submitted, str) or not submitted or not _usable(cookie):
            return None
        try:
            data = _serializer(_settings(request).secret_key, self.name).loads(
                submitted, max_age=self.max_age
            )
        except BadData:  # a bad signature, an expired one, or text that is no token
            return None
        if not isinstance(data, dict) or not isinstance(data.get("b"), str):
            return None
        if not hmac.compare_digest(data["b"], _digest(cookie or "")):
            return None
        return Accepted(data.get("p"))


# Every form of the server, by name: filled as the endpoint modules declare theirs, and
# read by the tests that refuse bad tokens on each of them.
ALL_FORMS: dict[str, PageForm] = {}


def submitted_token(request: Request, params: dict[str, Any]) -> object:
    """The token a submission carries: the hidden field, else the header."""
    return params.get(FIELD) or request.headers.get(HEADER)


def browser(request: Request) -> str:
    """This browser's form cookie; a new one when it has none yet (`bind_browser` sets it
    on the response)."""
    existing = request.cookies.get(COOKIE)
    if _usable(existing):
        return str(existing)
    fresh = getattr(request.state, _NEW_BROWSER, None)
    if isinstance(fresh, str):
        return fresh
    fresh = secrets.token_urlsafe(32)
    setattr(request.state, _NEW_BROWSER, fresh)
    return fresh


def bind_browser(request: Request, response: Response) -> None:
    """Set the form cookie when this request made one, and keep pages that carry a token out
    of every cache (the token belongs to this browser)."""
    if getattr(request.state, _PAGE_HAS_FORM, False):
        response.headers["Cache-Control"] = "no-store"
    fresh = getattr(request.state, _NEW_BROWSER, None)
    if not isinstance(fresh, str):
        return
    response.set_cookie(
        COOKIE,
        fresh,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_settings(request).behind_tls,
    )


def _usable(cookie: str | None) -> bool:
    return cookie is not None and 20 <= len(cookie) <= 100


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings
