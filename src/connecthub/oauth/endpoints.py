"""OAuth 2.0 endpoints as Mastodon serves them, plus ConnectHub's authorised apps and
sessions. Handlers parse and render; `oauth_service` holds the rules."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from connecthub.accounts import service as accounts
from connecthub.accounts.models import OAuthApplication
from connecthub.accounts.serializers import account_entity
from connecthub.accounts.sign_in import SecondFactorRequired, SignInError
from connecthub.config import Settings
from connecthub.core.i18n import N_
from connecthub.errors import NotFound, OAuthError, TooManyRequests, ValidationFailed
from connecthub.http import forms, pages
from connecthub.http.auth import Caller, require
from connecthub.http.deps import PathId, SettingsDep, UowDep
from connecthub.http.security import CONTENT_SECURITY_POLICY
from connecthub.infra.uow import UnitOfWork
from connecthub.oauth import service
from connecthub.oauth.schemas import (
    Application,
    AppRegistration,
    AuthorizedApp,
    CredentialApplication,
    RevokeRequest,
    ServerMetadata,
    SessionInfo,
    TokenRequest,
    TokenResponse,
    Userinfo,
    credential_application,
    iso_time,
)
from connecthub.oauth.scopes import TOP_LEVEL, VALID_SCOPES
from connecthub.push import service as push
from connecthub.web_auth.sessions import current_web_user

router = APIRouter(tags=["oauth"])

Params = dict[str, list[str]]
_TRUE = frozenset({"true", "1", "yes", "on"})
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# The consent form carries the checked authorization request (and the account it was shown
# to) in its token, so the decision needs no server-side state.
AUTHORIZE = forms.PageForm("authorize", (("POST", "/oauth/authorize"),), max_age=3600)


# --- request parsing ----------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


async def request_params(request: Request) -> Params:
    """Query parameters overlaid with the body (form or JSON), as Mastodon accepts them.
    `name[]` keys are folded into `name`."""
    params: Params = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key.removesuffix("[]"), []).append(value)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise ValidationFailed("body", "is not valid JSON") from None
        if not isinstance(body, dict):
            raise ValidationFailed("body", "must be a JSON object")
        for key, value in body.items():
            values = value if isinstance(value, list) else [value]
            params[str(key).removesuffix("[]")] = [_text(item) for item in values]
    elif kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        body_params: Params = {}
        for key, item in form.multi_items():
            if isinstance(item, str):
                body_params.setdefault(key.removesuffix("[]"), []).append(item)
        params.update(body_params)
    return params


def flat(params: Params) -> dict[str, str]:
    return {key: values[-1] for key, values in params.items() if values}


def _body_schema(model: type[Any]) -> dict[str, Any]:
    schema = model.model_json_schema()
    return {
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {"schema": schema},
                "application/json": {"schema": schema},
            }
        }
    }


def _client_context(request: Request) -> service.ClientContext:
    ip = getattr(request.state, "client_ip", None)
    return service.ClientContext(ip=ip, user_agent=request.headers.get("user-agent"))


# --- apps ---------------------------------------------------------------------------


@router.post(
    "/api/v1/apps",
    response_model=CredentialApplication,
    summary="Register a client application",
    openapi_extra=_body_schema(AppRegistration),
)
async def create_app(request: Request, uow: UowDep) -> CredentialApplication:
    params = await request_params(request)
    values = flat(params)
    uris = params.get("redirect_uris")
    vapid_key = await push.public_key(uow.engines)  # before the write: it may read the key
    registered = await service.register_app(
        uow.session,
        name=values.get("client_name"),
        redirect_uris=uris if uris and len(uris) > 1 else values.get("redirect_uris"),
        scopes=values.get("scopes"),
        website=values.get("website"),
    )
    return credential_application(registered.app, registered.client_secret, vapid_key)


@router.get(
    "/api/v1/apps/verify_credentials",
    response_model=Application,
    summary="Check the app token (client_credentials) or user token and show its app",
)
async def verify_app_credentials(
    uow: UowDep, caller: Annotated[Caller, Depends(require(user=False))]
) -> Application:
    app = await service.application_for_token(uow.session, caller.token.application_id)
    return Application.of(app, await push.public_key(uow.engines))


# --- authorization page -------------------------------------------------------------


_SCOPE_WORDS = {
    "read": N_("Read all your account's data"),
    "write": N_("Modify all your account's data"),
    "follow": N_("Modify account relationships"),
    "push": N_("Receive your push notifications"),
    "profile": N_("Read only your account's basic profile"),
    "admin:read": N_("Read all data on the server"),
    "admin:write": N_("Modify all data on the server"),
}


def _describe(scope: str) -> tuple[str, dict[str, str]]:
    """What a scope lets the app do: a message (translated on the page) and its values."""
    if scope in _SCOPE_WORDS:
        return _SCOPE_WORDS[scope], {}
    *prefix, name = scope.split(":")
    reads = prefix[-1] == "read"
    if prefix[0] == "admin":
        message = (
            N_("Read %(what)s on the server") if reads else N_("Modify %(what)s on the server")
        )
    else:
        message = N_("Read %(what)s of yours") if reads else N_("Modify %(what)s of yours")
    return message, {"what": name.replace("_", " ")}


def _page_csp(redirect_uri: str | None) -> str:
    """The site CSP, with the app's redirect target allowed as a form destination:
    browsers apply form-action to the redirect that follows the consent form. Only the
    checked, normalised origin goes into the header, never the URI's own text."""
    if not redirect_uri or redirect_uri == service.OOB:
        return CONTENT_SECURITY_POLICY
    target = service.redirect_origin(redirect_uri)
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {target}")


def _html(
    request: Request,
    settings: Settings,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    redirect_uri: str | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    return pages.render(
        request,
        f"oauth/{name}.html",
        context,
        status_code=status_code,
        headers={
            **_NO_STORE,
            "Content-Security-Policy": _page_csp(redirect_uri),
            **(headers or {}),
        },
    )


def _error_page(
    request: Request, settings: Settings, message: str, *, status_code: int = 400
) -> HTMLResponse:
    return _html(request, settings, "error", {"message": message}, status_code=status_code)


async def _signed_in(
    request: Request, uow: UnitOfWork, force_login: bool
) -> tuple[int, str] | None:
    if force_login:
        return None
    found = await current_web_user(request, uow)
    return (found[1].id, found[1].username) if found else None


def _consent_page(
    request: Request,
    settings: Settings,
    app_name: str,
    app_website: str | None,
    auth: service.AuthorizationRequest,
    signed_in: tuple[int, str] | None,
    *,
    email: str = "",
    message: str | None = None,
    notice: bool = False,
    need_code: bool = False,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    token = AUTHORIZE.token(
        request, {"request": auth.to_dict(), "account_id": signed_in[0] if signed_in else None}
    )
    context = {
        "app_name": app_name,
        "app_website": app_website,
        "scopes": [(scope, *_describe(scope)) for scope in auth.scopes],
        "form_token": token,
        "signed_in_as": signed_in[1] if signed_in else None,
        "email": email,
        "message": message,
        "notice": notice,
        "need_code": need_code,
    }
    return _html(
        request,
        settings,
        "authorize",
        context,
        status_code=status_code,
        redirect_uri=auth.redirect_uri,
        headers=headers,
    )


@router.get("/oauth/authorize", response_class=HTMLResponse, summary="Sign-in and consent page")
@router.get("/oauth/authorize/", include_in_schema=False)
async def authorize_page(request: Request, uow: UowDep, settings: SettingsDep) -> Response:
    params = flat(await request_params(request))
    try:
        app, auth = await service.check_authorization_request(uow.session, params)
    except service.AuthorizationPageError as exc:
        return _error_page(request, settings, exc.message)
    except service.AuthorizationRedirectError as exc:
        if exc.redirect_uri == service.OOB:
            return _error_page(request, settings, exc.description)
        return RedirectResponse(exc.location(), status_code=302, headers=_NO_STORE)
    signed_in = await _signed_in(request, uow, params.get("force_login", "") in _TRUE)
    return _consent_page(request, settings, app.name, app.website, auth, signed_in)


def _signed_request(
    request: Request, form: dict[str, str]
) -> tuple[service.AuthorizationRequest, object] | None:
    """The request and the account the consent page was shown for, from its token; None
    when the token is refused."""
    accepted = AUTHORIZE.check(request, forms.submitted_token(request, form))
    if accepted is None or not isinstance(accepted.payload, dict):
        return None
    try:
        auth = service.AuthorizationRequest.from_dict(accepted.payload["request"])
    except (KeyError, TypeError, AttributeError):
        return None
    return auth, accepted.payload.get("account_id")


@router.post("/oauth/authorize", include_in_schema=False)
async def authorize_decision(request: Request, uow: UowDep, settings: SettingsDep) -> Response:
    form = flat(await request_params(request))
    decision = _signed_request(request, form)
    if decision is None:
        return _error_page(request, settings, forms.REFUSED, status_code=403)
    auth, bound_account = decision
    try:
        app, _ = await service.client_and_redirect(uow.session, auth.client_id, auth.redirect_uri)
    except service.AuthorizationPageError as exc:
        return _error_page(request, settings, exc.message)

    if form.get("decision") == "deny":
        denied = service.AuthorizationRedirectError(
            auth.redirect_uri, auth.state, "access_denied", "The user denied the request."
        )
        if auth.redirect_uri == service.OOB:
            return _error_page(request, settings, N_("You denied the authorization request."))
        return RedirectResponse(denied.location(), status_code=302, headers=_NO_STORE)

    def again(message: str, **kwargs: Any) -> HTMLResponse:
        return _consent_page(
            request, settings, app.name, app.website, auth, None, message=message, **kwargs
        )

    if isinstance(bound_account, int):
        found = await current_web_user(request, uow)
        if found is None or found[1].id != bound_account:
            return again("Your session ended. Please sign in.", notice=True)
        account_id = found[1].id
    else:
        email = form.get("email", "").strip()
        try:
            account = await service.sign_in_for_authorization(
                uow, email, form.get("password", ""), form.get("otp_attempt") or None
            )
        except SecondFactorRequired:
            return again(
                "Two-factor authentication is on: enter your password again with the "
                "one-time code from your authenticator app.",
                email=email,
                notice=True,
                need_code=True,
            )
        except SignInError as exc:
            return again(exc.message, email=email, status_code=422)
        except TooManyRequests as exc:
            return again(exc.message, email=email, status_code=429, headers=exc.headers)
        account_id = account.id

    code = await service.create_grant(uow.session, app, auth, account_id)
    if auth.redirect_uri == service.OOB:
        return _html(request, settings, "code", {"app_name": app.name, "code": code})
    location = service.redirect_location(auth.redirect_uri, {"code": code, "state": auth.state})
    return RedirectResponse(location, status_code=302, headers=_NO_STORE)


# --- tokens -------------------------------------------------------------------------


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    kind, _, value = request.headers.get("authorization", "").partition(" ")
    if kind.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


async def _client(request: Request, uow: UnitOfWork, values: dict[str, str]) -> OAuthApplication:
    basic = _basic_credentials(request)
    client_id, secret = basic or (values.get("client_id"), values.get("client_secret"))
    return await service.authenticate_client(uow.session, client_id, secret)


def _oauth_error(exc: OAuthError) -> JSONResponse:
    return JSONResponse(
        {"error": exc.code, "error_description": exc.message},
        exc.status_code,
        headers={**_NO_STORE, **exc.headers},
    )


@router.post(
    "/oauth/token",
    response_model=TokenResponse,
    response_model_exclude_none=True,
    summary="Obtain a token (authorization_code, client_credentials, refresh_token, password)",
    description="Access tokens do not expire unless revoked, as Mastodon clients assume. "
    "With `issue_refresh_token=true` (a ConnectHub extension) the authorization_code and "
    "password grants also return a rotating `refresh_token`, and the access token then "
    "expires after `expires_in` seconds. See docs/adr/0004-token-format.md.",
    openapi_extra=_body_schema(TokenRequest),
)
async def token(request: Request, uow: UowDep, settings: SettingsDep) -> Response:
    values = flat(await request_params(request))
    grant_type = values.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "The grant_type parameter is required.")
    supported = _grant_types(settings)
    if grant_type not in supported:
        raise OAuthError(
            "unsupported_grant_type", f"The grant type {grant_type!r} is not supported."
        )
    app = await _client(request, uow, values)
    client = _client_context(request)
    refreshable = values.get("issue_refresh_token", "").lower() in _TRUE
    try:
        if grant_type == "authorization_code":
            issued = await service.exchange_code(
                uow, app, values, refreshable=refreshable, client=client
            )
        elif grant_type == "client_credentials":
            issued = await service.client_credentials(uow, app, values, client=client)
        elif grant_type == "refresh_token":
            issued = await service.refresh(uow, app, values, client=client)
        else:
            issued = await service.password_grant(
                uow, app, values, refreshable=refreshable, client=client
            )
    except service.GrantReplayed as exc:
        return _oauth_error(exc)  # returned, not raised: the revocation must commit
    row = issued.row
    body = TokenResponse(
        access_token=issued.access_token,
        scope=row.scopes,
        created_at=int(row.created_at.timestamp()),
        refresh_token=issued.refresh_token,
        expires_in=service.REFRESHABLE_ACCESS_SECONDS if issued.refresh_token else None,
    )
    return JSONResponse(body.model_dump(exclude_none=True), headers=_NO_STORE)


@router.post(
    "/oauth/revoke",
    summary="Revoke an access or refresh token (RFC 7009)",
    openapi_extra=_body_schema(RevokeRequest),
)
async def revoke(request: Request, uow: UowDep) -> dict[str, str]:
    values = flat(await request_params(request))
    app = await _client(request, uow, values)
    raw = values.get("token")
    if not raw:
        raise OAuthError("invalid_request", "The token parameter is required.")
    await service.revoke(uow, app, raw)
    return {}


# --- server metadata ----------------------------------------------------------------


def _grant_types(settings: Settings) -> list[str]:
    kinds = ["authorization_code", "client_credentials", "refresh_token"]
    if settings.password_grant_enabled:
        kinds.insert(1, "password")
    return kinds


def _scopes_supported() -> list[str]:
    top = ["read", "write", "follow", "push", "profile", "admin:read", "admin:write"]
    assert set(top) == TOP_LEVEL
    return top + sorted(VALID_SCOPES - TOP_LEVEL)


@router.get(
    "/.well-known/oauth-authorization-server",
    response_model=ServerMetadata,
    summary="OAuth 2.0 authorization server metadata (RFC 8414)",
)
async def server_metadata(settings: SettingsDep) -> ServerMetadata:
    origin = settings.base_url  # never the Host header: clients trust these endpoints
    return ServerMetadata(
        issuer=f"{origin}/",
        service_documentation="https://docs.joinmastodon.org/",
        authorization_endpoint=f"{origin}/oauth/authorize",
        token_endpoint=f"{origin}/oauth/token",
        app_registration_endpoint=f"{origin}/api/v1/apps",
        revocation_endpoint=f"{origin}/oauth/revoke",
        userinfo_endpoint=f"{origin}/oauth/userinfo",
        scopes_supported=_scopes_supported(),
        response_types_supported=["code"],
        response_modes_supported=["query"],
        code_challenge_methods_supported=["S256"],
        grant_types_supported=_grant_types(settings),
        token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
    )


ProfileCaller = Annotated[Caller, Depends(require("profile"))]


@router.get(
    "/oauth/userinfo",
    response_model=Userinfo,
    summary="OpenID Connect userinfo of the token's account (scope `profile`)",
)
@router.post("/oauth/userinfo", response_model=Userinfo, include_in_schema=False)
async def userinfo(caller: ProfileCaller, uow: UowDep, settings: SettingsDep) -> Userinfo:
    account = await accounts.account_by_id(uow.session, caller.account_id)
    if account is None:
        raise NotFound()
    entity = account_entity(settings, account)
    return Userinfo(
        iss=f"{settings.base_url}/",
        sub=entity["uri"],
        name=account.display_name,
        preferred_username=account.username,
        profile=entity["url"],
        picture=entity["avatar"],
    )


# --- ConnectHub extension: authorised apps and sessions -----------------------------

ReadCaller = Annotated[Caller, Depends(require("read"))]
WriteCaller = Annotated[Caller, Depends(require("write"))]


@router.get(
    "/api/v1/connecthub/authorized_apps",
    tags=["connecthub"],
    response_model=list[AuthorizedApp],
    summary="List the apps that hold live tokens for your account",
    description="One entry per application. Scope: `read`.",
)
async def list_authorized_apps(uow: UowDep, caller: ReadCaller) -> list[AuthorizedApp]:
    summaries = await service.authorized_apps(uow.session, caller.account_id)
    return [
        AuthorizedApp(
            id=str(item.app.id),
            name=item.app.name,
            website=item.app.website,
            scopes=item.scopes,
            created_at=iso_time(item.first_created_at),
            last_used_at=iso_time(item.last_created_at),
            sessions_count=item.sessions,
        )
        for item in summaries
    ]


@router.delete(
    "/api/v1/connecthub/authorized_apps/{app_id}",
    tags=["connecthub"],
    summary="Revoke an app's access: every token it holds for your account",
    description="Takes effect at once, also for open streaming connections. Scope: `write`.",
)
async def revoke_authorized_app(app_id: PathId, uow: UowDep, caller: WriteCaller) -> dict[str, str]:
    await service.revoke_app(uow, caller.account_id, app_id)
    return {}


@router.get(
    "/api/v1/connecthub/sessions",
    tags=["connecthub"],
    response_model=list[SessionInfo],
    summary="List your live sessions (access tokens), newest first",
    description="`current` marks the token making this request. Scope: `read`.",
)
async def list_sessions(uow: UowDep, caller: ReadCaller) -> list[SessionInfo]:
    rows = await service.live_sessions(uow.session, caller.account_id)
    return [SessionInfo.of(token, app, caller.token.token_id) for token, app in rows]


@router.delete(
    "/api/v1/connecthub/sessions/{session_id}",
    tags=["connecthub"],
    summary="Sign a session out (revoke that token)",
    description="Takes effect at once, also for open streaming connections. Scope: `write`.",
)
async def revoke_session(session_id: PathId, uow: UowDep, caller: WriteCaller) -> dict[str, str]:
    await service.revoke_session(uow, caller.account_id, session_id)
    return {}
