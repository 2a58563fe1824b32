"""Server-rendered sign-up, sign-in (with the two-factor step), sign-out, e-mail
confirmation and password reset pages. Plain HTML forms: no JavaScript needed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from connecthub.accounts import credentials, registration
from connecthub.accounts import service as accounts
from connecthub.accounts.sign_in import (
    AccountUnavailable,
    SecondFactorRequired,
    SignInError,
    attempt_sign_in,
    throttle_sign_in,
)
from connecthub.accounts.signed_tokens import (
    challenge_token,
    challenge_token_valid,
    challenge_user_id,
    terms_token_valid,
    terms_user_id,
)
from connecthub.accounts.two_factor import consume_code
from connecthub.config import RegistrationMode, Settings
from connecthub.core.i18n import N_
from connecthub.errors import ConnectHubError, TooManyRequests, ValidationFailed
from connecthub.http import forms, pages
from connecthub.http.deps import PrimaryUowDep, SettingsDep, UowDep
from connecthub.http.params import read_params
from connecthub.infra.uow import UnitOfWork
from connecthub.privacy import service as privacy
from connecthub.web_auth import sessions as web_sessions
from connecthub.web_auth import terms

router = APIRouter(include_in_schema=False)

RESET_SENT = N_(
    "If an account uses this address, a message with instructions to reset its password "
    "is on its way."
)
CONFIRMATION_SENT = N_("We sent you a link to confirm your e-mail address. Open it to finish.")
PENDING_APPROVAL = N_("Your account is pending review by a moderator. We will let you know.")

SIGN_UP = forms.PageForm("sign_up", (("POST", "/auth/sign_up"),))
# The two-factor step posts to the same route with the pending challenge.
SIGN_IN = forms.PageForm("sign_in", (("POST", "/auth/sign_in"),))
SIGN_OUT = forms.PageForm("sign_out", (("POST", "/auth/sign_out"), ("DELETE", "/auth/sign_out")))
RESET_REQUEST = forms.PageForm("password_reset_request", (("POST", "/auth/password"),))
# Devise's routes: a reset link's form may also be sent as POST /auth/password with the token.
RESET = forms.PageForm(
    "password_reset",
    (("POST", "/auth/password/edit"), ("PUT", "/auth/password/edit"), ("PUT", "/auth/password")),
)
_NO_STORE = {"Cache-Control": "no-store"}


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    form: forms.PageForm | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    if form is not None:
        context = {**context, "form_token": form.token(request)}
    return pages.render(request, template, context, status_code=status_code, headers=_NO_STORE)


def _safe_next(value: object) -> str:
    """Only same-site paths, so the form cannot be used as an open redirect."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/auth/sign_in"


def _str(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    return value if isinstance(value, str) else ""


def _forbidden(request: Request) -> HTMLResponse:
    return render(
        request,
        "auth/message.html",
        {"title": N_("Form expired"), "alert": forms.REFUSED},
        status_code=403,
    )


def _accepted(request: Request, form: forms.PageForm, params: dict[str, Any]) -> bool:
    return form.check(request, forms.submitted_token(request, params)) is not None


async def _form(request: Request, form: forms.PageForm) -> dict[str, Any] | None:
    """The submitted fields, or None when their token is not `form`'s for this browser."""
    params = await read_params(request)
    return params if _accepted(request, form, params) else None


def _sign_up_page(
    request: Request,
    settings: Settings,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    alert: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "auth/sign_up.html",
        {
            "title": N_("Join %(site)s"),
            "values": values or {},
            "errors": errors or {},
            "alert": alert,
            "min_age": settings.min_signup_age,
            "approval": settings.registration_mode is RegistrationMode.APPROVAL,
        },
        form=SIGN_UP,
        status_code=status_code,
    )


def _message(
    request: Request,
    title: str,
    *,
    notice: str | None = None,
    alert: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {"title": title, "notice": notice, "alert": alert}
    return render(request, "auth/message.html", context, status_code=status_code)


@router.get("/auth/sign_up")
async def sign_up_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    if settings.registration_mode is RegistrationMode.CLOSED:
        return _message(
            request, N_("Sign up"), alert=N_("Registrations are closed"), status_code=403
        )
    return _sign_up_page(request, settings)


def _taken_email_answer(request: Request, settings: Settings) -> Response:
    """What a fresh sign-up would get, when the address has an account (its owner was
    mailed a notice): the same page while confirmation or approval is pending, else the
    sign-in page (without a session: a fresh sign-up gets one)."""
    if settings.smtp_url is not None:
        return _message(request, N_("Check your e-mail"), notice=CONFIRMATION_SENT)
    if settings.registration_mode is RegistrationMode.APPROVAL:
        return _message(request, N_("Almost there"), notice=PENDING_APPROVAL)
    return RedirectResponse("/auth/sign_in", status_code=303)


@router.post("/auth/sign_up")
async def sign_up(request: Request, uow: UowDep, settings: SettingsDep) -> Response:
    params = await _form(request, SIGN_UP)
    if params is None:
        return _forbidden(request)
    if settings.registration_mode is RegistrationMode.CLOSED:
        return _message(
            request, N_("Sign up"), alert=N_("Registrations are closed"), status_code=403
        )
    values = {k: _str(params, k) for k in ("username", "email", "date_of_birth", "reason")}
    values["agreement"] = _str(params, "agreement")
    password = _str(params, "password")
    try:
        if password != _str(params, "password_confirmation"):
            raise ValidationFailed("password_confirmation", N_("does not match the password"))
        born = None
        if values["date_of_birth"]:
            from datetime import date

            try:
                born = date.fromisoformat(values["date_of_birth"])
            except ValueError:
                raise ValidationFailed("date_of_birth", N_("must be a valid date")) from None
        form = registration.SignUp(
            username=values["username"].strip(),
            email=values["email"].strip(),
            password=password,
            agreement=bool(values["agreement"]),
            date_of_birth=born,
            reason=values["reason"],
            # Mails to the account speak the language its sign-up page was shown in.
            locale=pages.page_locale(request),
            method="web",
            ip=getattr(request.state, "client_ip", None),
        )
        registered = await registration.sign_up(uow, settings, form)
    except ValidationFailed as exc:
        await uow.rollback()
        return _sign_up_page(
            request, settings, values=values, errors={exc.field: exc.problem}, status_code=422
        )
    if registered is None:
        return _taken_email_answer(request, settings)
    _account, user = registered
    if user.confirmed_at is None:
        return _message(
            request,
            N_("Check your e-mail"),
            notice=CONFIRMATION_SENT,
        )
    if not user.approved:
        return _message(
            request,
            N_("Almost there"),
            notice=PENDING_APPROVAL,
        )
    response = RedirectResponse("/auth/sign_in", status_code=303)
    await web_sessions.start_web_session(request, response, uow, user)
    return response


def _sign_in_page(
    request: Request,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    alert: str | None = None,
    next_path: str = "/auth/sign_in",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    response = render(
        request,
        "auth/sign_in.html",
        {
            "title": N_("Sign in"),
            "values": values or {},
            "errors": errors or {},
            "alert": alert,
            "next_path": next_path,
        },
        form=SIGN_IN,
        status_code=status_code,
    )
    response.headers.update(headers or {})
    return response


@router.get("/auth/sign_in")
async def sign_in_page(request: Request, uow: UowDep) -> HTMLResponse:
    signed_in = await web_sessions.current_web_user(request, uow)
    if signed_in is not None:
        return render(
            request,
            "auth/signed_in.html",
            {"title": N_("Signed in"), "username": signed_in[1].username},
            form=SIGN_OUT,
        )
    return _sign_in_page(request, next_path=_safe_next(request.query_params.get("next")))


async def _second_step(
    request: Request, uow: UnitOfWork, settings: Settings, params: dict[str, Any]
) -> tuple[Any, str | None]:
    """Check the two-factor code against the pending challenge: (user, error)."""
    challenge = _str(params, "challenge")
    user_id = challenge_user_id(settings.secret_key, challenge)
    user = await accounts.user_by_id(uow.session, user_id) if user_id else None
    if user is None or not challenge_token_valid(settings.secret_key, challenge, user):
        return None, N_("The sign-in has expired. Please start again.")
    await throttle_sign_in(uow.engines, email=user.email)
    code = _str(params, "otp_attempt")
    if not await consume_code(uow.session, user, code, secret_key=settings.secret_key):
        return user, N_("The two-factor code is invalid")
    return user, None


@router.post("/auth/sign_in")
async def sign_in(request: Request, uow: UowDep, settings: SettingsDep) -> Response:
    params = await _form(request, SIGN_IN)
    if params is None:
        return _forbidden(request)
    next_path = _safe_next(params.get("next"))
    email = _str(params, "email").strip()
    try:
        if params.get("challenge"):
            user, problem = await _second_step(request, uow, settings, params)
            if problem is not None:
                if user is None:
                    return _sign_in_page(request, alert=problem, status_code=401)
                return render(
                    request,
                    "auth/two_factor.html",
                    {
                        "title": N_("Two-factor authentication"),
                        "challenge": _str(params, "challenge"),
                        "next_path": next_path,
                        "errors": {"otp_attempt": problem},
                    },
                    form=SIGN_IN,
                    status_code=401,
                )
        else:
            user, _account = await attempt_sign_in(
                uow.engines,
                uow.session,
                email=email,
                password=_str(params, "password"),
                ip=uow.client_ip,
            )
    except SecondFactorRequired:
        found = await accounts.user_by_email(uow.session, email)
        assert found is not None
        return render(
            request,
            "auth/two_factor.html",
            {
                "title": N_("Two-factor authentication"),
                "challenge": challenge_token(settings.secret_key, found),
                "next_path": next_path,
                "errors": {},
            },
            form=SIGN_IN,
        )
    except TooManyRequests as exc:
        await uow.rollback()
        return _sign_in_page(
            request,
            values={"email": email},
            alert=exc.message,
            next_path=next_path,
            status_code=429,
            headers=exc.headers,
        )
    except AccountUnavailable as exc:
        await uow.rollback()
        return _sign_in_page(
            request,
            values={"email": email},
            alert=exc.message,
            next_path=next_path,
            status_code=403,
        )
    except SignInError as exc:
        await uow.rollback()
        return _sign_in_page(
            request,
            values={"email": email},
            alert=exc.message,
            next_path=next_path,
            status_code=401,
        )
    asked = await terms.ask_if_needed(request, uow, settings, user, next_path)
    if asked is not None:
        return asked  # no session until the terms in effect are accepted (POST /auth/terms)
    response = RedirectResponse(next_path, status_code=303)
    await web_sessions.start_web_session(request, response, uow, user)
    return response


@router.post("/auth/terms")
async def accept_terms(request: Request, uow: UowDep, settings: SettingsDep) -> Response:
    """Accept the terms shown after a sign-in, then sign in."""
    params = await _form(request, terms.TERMS)
    if params is None:
        return _forbidden(request)
    next_path = _safe_next(params.get("next"))
    challenge = _str(params, "challenge")
    user_id = terms_user_id(settings.secret_key, challenge)
    user = await accounts.user_by_id(uow.session, user_id) if user_id else None
    if user is None or not terms_token_valid(settings.secret_key, challenge, user):
        return _sign_in_page(
            request, alert=N_("The sign-in has expired. Please start again."), status_code=401
        )
    try:
        await privacy.accept_terms(
            uow, settings, user.account_id, _str(params, "version"), method="web"
        )
    except ValidationFailed:
        # The terms changed while the page was open: show the new ones.
        return await terms.page(request, uow, settings, user, next_path, status_code=409)
    response = RedirectResponse(next_path, status_code=303)
    await web_sessions.start_web_session(request, response, uow, user)
    return response


@router.api_route("/auth/sign_out", methods=["POST", "DELETE"])
async def sign_out(request: Request, uow: UowDep) -> Response:
    if await _form(request, SIGN_OUT) is None:
        return _forbidden(request)
    response = RedirectResponse("/auth/sign_in", status_code=303)
    await web_sessions.end_web_session(request, response, uow)
    return response


@router.get("/auth/confirmation")
async def confirm_email(
    request: Request, uow: PrimaryUowDep, settings: SettingsDep
) -> HTMLResponse:
    token = request.query_params.get("confirmation_token", "")
    try:
        user = await registration.confirm_email(uow, settings, token)
    except ConnectHubError:
        return _message(
            request,
            N_("Confirmation failed"),
            alert=N_("This link is invalid or has expired."),
            status_code=422,
        )
    notice = N_("Your e-mail address is confirmed.")
    if not user.approved:
        notice = N_(
            "Your e-mail address is confirmed. Your account is still pending review by a moderator."
        )
    return _message(request, N_("Thank you"), notice=notice)


@router.get("/auth/password/new")
async def reset_request_page(request: Request) -> HTMLResponse:
    return render(
        request,
        "auth/password_new.html",
        {"title": N_("Forgot your password?"), "values": {}, "errors": {}},
        form=RESET_REQUEST,
    )


@router.post("/auth/password")
async def reset_request(request: Request, uow: UowDep, settings: SettingsDep) -> Response:
    params = await read_params(request)
    form = RESET if params.get("reset_password_token") else RESET_REQUEST
    if not _accepted(request, form, params):
        return _forbidden(request)
    if form is RESET:
        return await _reset(request, uow, settings, params)
    await credentials.request_reset(uow, settings, _str(params, "email"))
    return _message(request, N_("Check your e-mail"), notice=RESET_SENT)


def _reset_page(
    request: Request,
    token: str,
    *,
    errors: dict[str, str] | None = None,
    alert: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "auth/password_edit.html",
        {
            "title": N_("Choose a new password"),
            "reset_password_token": token,
            "errors": errors or {},
            "alert": alert,
        },
        form=RESET,
        status_code=status_code,
    )


@router.get("/auth/password/edit")
async def reset_page(request: Request, uow: UowDep, settings: SettingsDep) -> HTMLResponse:
    token = request.query_params.get("reset_password_token", "")
    try:
        await credentials.user_for_reset(uow, settings, token)
    except ValidationFailed:
        return _message(
            request,
            N_("Reset failed"),
            alert=N_("This link is invalid or has expired."),
            status_code=422,
        )
    return _reset_page(request, token)


async def _reset(
    request: Request, uow: UnitOfWork, settings: Settings, params: dict[str, Any]
) -> Response:
    token = _str(params, "reset_password_token")
    password = _str(params, "password")
    try:
        if password != _str(params, "password_confirmation"):
            raise ValidationFailed("password_confirmation", N_("does not match the password"))
        await credentials.reset_password(uow, settings, token=token, new_password=password)
    except ValidationFailed as exc:
        await uow.rollback()
        if exc.field == "reset_password_token":
            return _message(
                request,
                N_("Reset failed"),
                alert=N_("This link is invalid or has expired."),
                status_code=422,
            )
        return _reset_page(request, token, errors={exc.field: exc.problem}, status_code=422)
    return _message(
        request, N_("Password changed"), notice=N_("Your password is changed. You can sign in now.")
    )


@router.api_route("/auth/password/edit", methods=["POST", "PUT"])
async def reset_password(request: Request, uow: UowDep, settings: SettingsDep) -> Response:
    params = await _form(request, RESET)
    if params is None:
        return _forbidden(request)
    return await _reset(request, uow, settings, params)


@router.put("/auth/password")
async def reset_password_put(request: Request, uow: UowDep, settings: SettingsDep) -> Response:
    return await reset_password(request, uow, settings)
