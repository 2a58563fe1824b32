"""Sign-in with OpenID Connect providers, as server-rendered pages that need no JavaScript.

    GET  /auth/oidc/{provider}              -> 302 to the provider (state, nonce, PKCE S256)
    GET  /auth/oidc/{provider}/callback     -> signs in, or shows the link / sign-up page
    POST /auth/oidc/{provider}/link         -> links to the existing account (its password)
    POST /auth/oidc/{provider}/sign-up      -> creates an account (age gate, terms)
    POST /auth/oidc/{provider}/two-factor   -> the second factor for a linked account

Between the steps the browser holds two signed, short-lived cookies: one with the state,
nonce and PKCE verifier of the request in flight, one with the verified identity while the
person fills in a form. No server-side session store is needed; every form step re-checks
the database before it writes. The forms are `http.forms` forms whose token also names the
attempt they were shown for, so a page left over from an earlier attempt cannot act on a
later one.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from connecthub.accounts import registration
from connecthub.accounts.models import User
from connecthub.accounts.sign_in import SecondFactorRequired
from connecthub.config import OidcProvider, RegistrationMode, Settings
from connecthub.core.i18n import N_, deferred
from connecthub.errors import ConnectHubError, NotFound, ValidationFailed
from connecthub.http import forms, pages
from connecthub.http.deps import PrimaryUowDep, SettingsDep, UowDep
from connecthub.infra.uow import UnitOfWork
from connecthub.oidc import relying_party as oidc
from connecthub.oidc import service as oidc_service
from connecthub.oidc.relying_party import OidcFailure, VerifiedIdentity
from connecthub.web_auth.sessions import start_web_session
from connecthub.web_auth.terms import ask_if_needed as ask_for_terms

router = APIRouter(prefix="/auth/oidc", include_in_schema=False)

COOKIE_PATH = "/auth/oidc"
STATE_COOKIE = "connecthub_oidc_state"
PENDING_COOKIE = "connecthub_oidc_pending"
STATE_MAX_AGE = 600  # seconds to finish at the provider
PENDING_MAX_AGE = 1800  # seconds to fill in the link or sign-up form

TextField = Annotated[str, Form()]

LINK = forms.PageForm("oidc_link", (("POST", "/auth/oidc/{provider}/link"),), PENDING_MAX_AGE)
SIGN_UP = forms.PageForm(
    "oidc_sign_up", (("POST", "/auth/oidc/{provider}/sign-up"),), PENDING_MAX_AGE
)
TWO_FACTOR = forms.PageForm(
    "oidc_two_factor", (("POST", "/auth/oidc/{provider}/two-factor"),), PENDING_MAX_AGE
)


def _serializer(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=f"connecthub.oidc.{purpose}")


def _load(request: Request, settings: Settings, cookie: str, max_age: int) -> dict[str, Any]:
    raw = request.cookies.get(cookie)
    if not raw:
        raise OidcFailure(
            N_(
                "This sign-in attempt has expired or was started in another browser; "
                "please start again"
            )
        )
    try:
        value = _serializer(settings, cookie).loads(raw, max_age=max_age)
    except BadSignature as exc:
        raise OidcFailure(N_("This sign-in attempt has expired; please start again")) from exc
    if not isinstance(value, dict):
        raise OidcFailure(N_("This sign-in attempt is invalid; please start again"))
    return value


def _store(
    response: Response, request: Request, settings: Settings, cookie: str, value: object
) -> None:
    response.set_cookie(
        cookie,
        _serializer(settings, cookie).dumps(value),
        path=COOKIE_PATH,
        httponly=True,
        # Lax: the provider brings the browser back with a top-level GET, which carries it.
        samesite="lax",
        secure=_is_https(request, settings),
        max_age=PENDING_MAX_AGE if cookie == PENDING_COOKIE else STATE_MAX_AGE,
    )


def _is_https(request: Request, settings: Settings) -> bool:
    return settings.behind_tls or request.url.scheme == "https"


def _redirect_uri(settings: Settings, provider: OidcProvider) -> str:
    """Built from LOCAL_DOMAIN (never the Host header), so it is the one URI operators
    register with the provider, whatever proxies sit in between."""
    return f"{settings.base_url}{COOKIE_PATH}/{provider.name}/callback"


def _provider(settings: Settings, name: str) -> OidcProvider:
    provider = oidc.find_provider(settings, name)
    if provider is None:
        raise NotFound("There is no sign-in provider by that name")
    return provider


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return pages.render(request, f"oidc/{template}", context, status_code=status_code)


def _form_page(
    request: Request,
    form: forms.PageForm,
    attempt: str,
    template: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    token = form.token(request, {"attempt": attempt})
    return _page(request, template, status_code, form_token=token, **context)


def _refused(request: Request) -> HTMLResponse:
    return _error_page(request, forms.REFUSED, 403, end_attempt=False)


def _error_page(
    request: Request, message: str, status_code: int = 400, *, end_attempt: bool = True
) -> HTMLResponse:
    response = _page(request, "error.html", status_code, message=message)
    if end_attempt:
        response.delete_cookie(STATE_COOKIE, path=COOKIE_PATH)
        response.delete_cookie(PENDING_COOKIE, path=COOKIE_PATH)
    return response


@router.get("/{provider}", name="oidc_start")
async def start(
    request: Request, provider: str, settings: SettingsDep, return_to: str | None = None
) -> Response:
    try:
        config = _provider(settings, provider)
        auth = await oidc.authorization_request(config, _redirect_uri(settings, config))
    except NotFound as exc:
        return _error_page(request, exc.message, 404)
    except OidcFailure as exc:
        return _error_page(request, exc.message, exc.status_code)
    response = RedirectResponse(auth.url, status_code=302)
    flight = {
        "provider": config.name,
        "state": auth.state,
        "nonce": auth.nonce,
        "verifier": auth.code_verifier,
        "return_to": return_to if oidc.safe_return_path(return_to) else "/",
    }
    _store(response, request, settings, STATE_COOKIE, flight)
    return response


@router.get("/{provider}/callback", name="oidc_callback")
async def callback(
    request: Request,
    provider: str,
    settings: SettingsDep,
    uow: PrimaryUowDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    try:
        config = _provider(settings, provider)
        flight = _load(request, settings, STATE_COOKIE, STATE_MAX_AGE)
        if flight.get("provider") != config.name or not _same(flight.get("state"), state):
            raise OidcFailure(N_("This sign-in attempt does not match the one started here"))
        if error:
            raise OidcFailure(_provider_error(config, error, error_description))
        if not code:
            raise OidcFailure(N_("The sign-in provider sent no authorization code"))
        identity = await oidc.complete(
            config,
            redirect_uri=_redirect_uri(settings, config),
            code=code,
            code_verifier=str(flight["verifier"]),
            nonce=str(flight["nonce"]),
        )
        outcome = await oidc_service.outcome_for(uow.session, identity)
        return_to = str(flight.get("return_to") or "/")
        if not isinstance(outcome, oidc_service.SignUpOffer):
            # Signing in (or linking, then signing in): the password sign-in's gates.
            await oidc_service.check_address(uow.session, request.state.client_ip)
        if isinstance(outcome, oidc_service.SignIn):
            oidc_service.check_may_sign_in(outcome.user, outcome.account)
        if isinstance(outcome, oidc_service.SignUpOffer):
            registration.check_open(settings)
    except NotFound as exc:
        return _error_page(request, exc.message, 404)
    except OidcFailure as exc:
        return _error_page(request, exc.message, exc.status_code)
    except ConnectHubError as exc:
        return _error_page(request, exc.message, exc.status_code)

    attempt = secrets.token_urlsafe(16)
    response: Response
    if isinstance(outcome, oidc_service.SignIn):
        if outcome.user.otp_enabled:
            response = _form_page(request, TWO_FACTOR, attempt, "two_factor.html", provider=config)
        else:
            response = await _signed_in(request, uow, outcome.user, return_to)
    elif isinstance(outcome, oidc_service.LinkOffer):
        response = _form_page(
            request,
            LINK,
            attempt,
            "link.html",
            provider=config,
            username=outcome.account.username,
            email=identity.email,
            otp_required=outcome.user.otp_enabled,
        )
    else:
        response = _form_page(
            request,
            SIGN_UP,
            attempt,
            "sign_up.html",
            provider=config,
            **_sign_up_context(settings, identity),
            username=outcome.suggested_username,
        )
    response.delete_cookie(STATE_COOKIE, path=COOKIE_PATH)
    if not isinstance(response, RedirectResponse):
        pending = {"identity": asdict(identity), "attempt": attempt, "return_to": return_to}
        if isinstance(outcome, oidc_service.LinkOffer):
            pending["username"] = outcome.account.username
        _store(response, request, settings, PENDING_COOKIE, pending)
    return response


def _same(expected: object, given: str | None) -> bool:
    """Constant-time comparison that tolerates any text a client sends."""
    if not isinstance(expected, str) or not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def _provider_error(provider: OidcProvider, error: str, description: str | None) -> str:
    if error == "access_denied":
        return deferred(
            N_("Sign-in with %(provider)s was cancelled or refused."),
            provider=provider.display_name,
        )
    detail = f": {description[:200]}" if description else ""
    return f"{provider.display_name} could not sign you in ({error[:64]}){detail}"


def _pending(
    request: Request, settings: Settings, provider: str, form: forms.Accepted
) -> tuple[VerifiedIdentity, dict[str, Any]]:
    pending = _load(request, settings, PENDING_COOKIE, PENDING_MAX_AGE)
    try:
        identity = VerifiedIdentity(**pending["identity"])
    except (KeyError, TypeError) as exc:
        raise OidcFailure(N_("This sign-in attempt is invalid; please start again")) from exc
    shown_for = form.payload.get("attempt") if isinstance(form.payload, dict) else None
    if identity.provider != provider or not _same(
        pending.get("attempt"), shown_for if isinstance(shown_for, str) else None
    ):
        raise OidcFailure(N_("This form does not belong to the sign-in attempt in progress"))
    return identity, pending


def _accepted(request: Request, form: forms.PageForm, token: str) -> forms.Accepted | None:
    return form.check(request, forms.submitted_token(request, {forms.FIELD: token}))


def _resume(
    request: Request, settings: Settings, provider: str, form: forms.PageForm, token: str
) -> Response | tuple[OidcProvider, VerifiedIdentity, dict[str, Any]]:
    """A posted step of the attempt in progress: its provider, identity and pending state,
    or the page refusing it (a bad form token, an unknown provider, another attempt's form)."""
    accepted = _accepted(request, form, token)
    if accepted is None:
        return _refused(request)
    try:
        config = _provider(settings, provider)
        identity, pending = _pending(request, settings, provider, accepted)
    except (NotFound, OidcFailure) as exc:
        return _error_page(request, getattr(exc, "message", ""), 400, end_attempt=False)
    return config, identity, pending


def _sign_up_context(settings: Settings, identity: VerifiedIdentity) -> dict[str, Any]:
    return {
        "email": identity.email,
        "email_verified": identity.email_verified,
        "min_age": settings.min_signup_age,
        "approval": settings.registration_mode is RegistrationMode.APPROVAL,
    }


async def _signed_in(request: Request, uow: UnitOfWork, user: User, return_to: str) -> Response:
    asked = await ask_for_terms(request, uow, uow.engines.settings, user, return_to)
    if asked is not None:  # new terms first; POST /auth/terms starts the session
        asked.delete_cookie(PENDING_COOKIE, path=COOKIE_PATH)
        return asked
    response = RedirectResponse(return_to, status_code=303)
    await start_web_session(request, response, uow, user)
    response.delete_cookie(PENDING_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/{provider}/link", name="oidc_link")
async def link(
    request: Request,
    provider: str,
    settings: SettingsDep,
    uow: UowDep,
    authenticity_token: TextField = "",
    password: TextField = "",
    otp_code: TextField = "",
) -> Response:
    attempt = _resume(request, settings, provider, LINK, authenticity_token)
    if isinstance(attempt, Response):
        return attempt
    config, identity, pending = attempt
    try:
        linked = await oidc_service.link_with_password(
            uow.engines,
            uow.session,
            identity,
            password=password,
            otp_code=otp_code or None,
            ip=request.state.client_ip,
        )
    except ConnectHubError as exc:
        await uow.rollback()
        if exc.status_code in (409, 429):
            return _error_page(request, exc.message, exc.status_code)
        otp_required = isinstance(exc, SecondFactorRequired) or bool(otp_code)
        return _form_page(
            request,
            LINK,
            pending["attempt"],
            "link.html",
            422,
            provider=config,
            username=pending.get("username", ""),
            email=identity.email,
            otp_required=otp_required,
            error=exc.message,
        )
    return await _signed_in(request, uow, linked.user, _return_to(pending))


@router.post("/{provider}/sign-up", name="oidc_sign_up")
async def sign_up(
    request: Request,
    provider: str,
    settings: SettingsDep,
    uow: UowDep,
    authenticity_token: TextField = "",
    username: TextField = "",
    date_of_birth: TextField = "",
    agreement: TextField = "",
) -> Response:
    attempt = _resume(request, settings, provider, SIGN_UP, authenticity_token)
    if isinstance(attempt, Response):
        return attempt
    config, identity, pending = attempt
    try:
        form = oidc_service.SignUpForm(
            username=username,
            date_of_birth=_parse_date(date_of_birth),
            agreement=agreement.lower() in ("1", "true", "on", "yes"),
        )
        user, _account = await oidc_service.sign_up(uow, identity, form)
    except ConnectHubError as exc:
        # Nothing of a refused sign-up may be kept.
        await uow.rollback()
        if exc.status_code in (403, 409):
            return _error_page(request, exc.message, exc.status_code)
        return _form_page(
            request,
            SIGN_UP,
            pending["attempt"],
            "sign_up.html",
            422,
            provider=config,
            username=username,
            error=exc.message,
            **_sign_up_context(settings, identity),
        )
    if not user.approved or user.confirmed_at is None:
        response = _page(request, "pending.html", provider=config, approval=not user.approved)
        response.delete_cookie(PENDING_COOKIE, path=COOKIE_PATH)
        return response
    return await _signed_in(request, uow, user, _return_to(pending))


@router.post("/{provider}/two-factor", name="oidc_two_factor")
async def two_factor(
    request: Request,
    provider: str,
    settings: SettingsDep,
    uow: UowDep,
    authenticity_token: TextField = "",
    otp_code: TextField = "",
) -> Response:
    attempt = _resume(request, settings, provider, TWO_FACTOR, authenticity_token)
    if isinstance(attempt, Response):
        return attempt
    config, identity, pending = attempt
    try:
        signed_in = await oidc_service.finish_second_factor(
            uow.engines, uow.session, identity, otp_code, ip=request.state.client_ip
        )
    except ConnectHubError as exc:
        await uow.rollback()
        if exc.status_code != 400:
            return _error_page(request, exc.message, exc.status_code)
        return _form_page(
            request,
            TWO_FACTOR,
            pending["attempt"],
            "two_factor.html",
            422,
            provider=config,
            error=exc.message,
        )
    return await _signed_in(request, uow, signed_in.user, _return_to(pending))


def _parse_date(value: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ValidationFailed("date_of_birth", "must be a date written YYYY-MM-DD") from exc


def _return_to(pending: dict[str, Any]) -> str:
    value = pending.get("return_to")
    return value if isinstance(value, str) and oidc.safe_return_path(value) else "/"
