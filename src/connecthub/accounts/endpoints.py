"""Accounts API: sign-up, credentials, profiles, and ConnectHub's extensions for password
change, password reset and two-factor set-up. Handlers parse, call a service, serialize."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from connecthub import entities
from connecthub.accounts import credentials, registration, service, sign_in, two_factor
from connecthub.accounts.default_images import grey_png
from connecthub.accounts.models import Account, OAuthApplication, User
from connecthub.accounts.profile import update_profile
from connecthub.accounts.roles import Permission, has_permission
from connecthub.accounts.serializers import (
    MISSING_AVATAR,
    MISSING_HEADER,
    account_entity,
    admin_account_entity,
    credential_account_entity,
    preferences_entity,
    token_entity,
)
from connecthub.admin import service as admin
from connecthub.admin.deps import moderator, staff
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.core.params import boolean, iso_date, text
from connecthub.detection import service as detection_service
from connecthub.emojis import service as emojis
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.http.auth import Caller, admitted_account, require
from connecthub.http.deps import PathId, SettingsDep, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.params import id_list, read_params
from connecthub.infra.engines import Engines
from connecthub.infra.uow import UnitOfWork
from connecthub.media import service as media_service
from connecthub.media.endpoints import incoming
from connecthub.oauth.identity import TokenInfo
from connecthub.oauth.scopes import parse_scopes
from connecthub.oauth.tokens import generate_secret, issue_token

router = APIRouter(tags=["accounts"], route_class=EntityRoute)
extensions = APIRouter(tags=["connecthub"], route_class=EntityRoute)

AppCaller = Annotated[Caller, Depends(require("write:accounts", user=False))]
ReadCaller = Annotated[Caller, Depends(require("read:accounts", "profile"))]
ReadAccounts = Annotated[Caller, Depends(require("read:accounts"))]
WriteCaller = Annotated[Caller, Depends(require("write:accounts"))]
UnconfirmedCaller = Annotated[Caller, Depends(require("write:accounts", pending=True))]
AdminCaller = Annotated[Caller, Depends(staff("admin:write:accounts", "approve"))]
# Mastodon's limit on `GET /api/v1/accounts?id[]=`.
MAX_ACCOUNT_IDS = 40

_ERROR_CODES = (
    ("taken", "ERR_TAKEN"),
    ("reserved", "ERR_RESERVED"),
    ("accepted", "ERR_ACCEPTED"),
    ("required", "ERR_BLANK"),
    ("too short", "ERR_TOO_SHORT"),
    ("too long", "ERR_TOO_LONG"),
    ("minimum age", "ERR_BELOW_LIMIT"),
)


def _mastodon_details(exc: ValidationFailed) -> ValidationFailed:
    """Mastodon's sign-up errors also carry `details: {field: [{error, description}]}`."""
    code = next((c for words, c in _ERROR_CODES if words in exc.problem), "ERR_INVALID")
    details = {"details": {exc.field: [{"error": code, "description": exc.problem}]}}
    return ValidationFailed(exc.field, exc.problem, details=details)


async def _signed_in_user(uow: UnitOfWork, caller: Caller) -> tuple[Account, User]:
    found = await service.account_with_user(uow.session, caller.account_id)
    if found is None:
        raise NotFound()
    account, user = found
    return account, user


def _functional(user: User) -> None:
    """Mastodon's "functional" check for acting on an account."""
    if user.confirmed_at is None:
        raise Forbidden("Your login is missing a confirmed e-mail address")
    if not user.approved:
        raise Forbidden("Your login is currently pending approval")


@router.post("/api/v1/accounts", summary="Register an account (app token required)")
async def sign_up(
    request: Request, caller: AppCaller, uow: UowDep, settings: SettingsDep
) -> entities.Token:
    if caller.token.account_id is not None:
        raise Forbidden("This method requires an app token, not a user's")
    registration.check_open(settings)
    params = await read_params(request)
    form = registration.SignUp(
        username=text(params, "username", required=True).strip(),
        email=text(params, "email", required=True).strip(),
        password=text(params, "password", required=True),
        agreement=bool(boolean(params, "agreement", default=False)),
        date_of_birth=iso_date(params, "date_of_birth"),
        locale=text(params, "locale", default="en"),
        reason=text(params, "reason"),
        method="api",
        ip=getattr(request.state, "client_ip", None),
    )
    try:
        registered = await registration.sign_up(uow, settings, form)
    except ValidationFailed as exc:
        raise _mastodon_details(exc) from None
    app_id = caller.token.application_id
    app = await uow.session.get(OAuthApplication, app_id) if app_id else None
    scopes = parse_scopes(app.scopes) if app else caller.token.scopes
    if registered is None:
        # The address has an account (its owner was mailed): a Token like any other, which
        # nothing accepts, so the answer does not tell who is registered.
        return token_entity(generate_secret(), scopes, utcnow())
    account, _user = registered
    issued = await issue_token(
        uow.session, account_id=account.id, application_id=app_id, scopes=scopes
    )
    return token_entity(issued.access_token, scopes, issued.row.created_at)


@router.get(
    "/api/v1/accounts/verify_credentials",
    response_model=entities.CredentialAccount,
    summary="The caller's own account",
)
async def verify_credentials(caller: ReadCaller, uow: UowDep, settings: SettingsDep) -> Response:
    body = await service.credential_account_bytes(uow, settings, caller.account_id)
    return Response(body, media_type="application/json")


_READ_SCOPES = ("read:accounts", "profile")  # ReadCaller's


def credentials_at_once(
    engines: Engines, token: TokenInfo | None, query: bytes
) -> tuple[bytes, bytes] | None:
    """`verify_credentials`' answer (head lines, body) when `require` would let `token`
    in and the answer is held near (http/edge.py answers it at once); None otherwise."""
    account_id = admitted_account(token, _READ_SCOPES)
    if query or account_id is None:
        return None
    body = service.held_credential_account(engines, account_id)
    if body is None:
        return None
    return b"content-length: %d\r\ncontent-type: application/json\r\n" % len(body), body


@router.patch("/api/v1/accounts/update_credentials", summary="Update the caller's profile")
async def update_credentials(
    request: Request, caller: WriteCaller, uow: UowDep, settings: SettingsDep
) -> entities.CredentialAccount:
    account, user = await _signed_in_user(uow, caller)
    _functional(user)
    params = await read_params(request)
    images = await profile_images(request)
    before = (account.display_name, account.note)
    update_profile(account, user, params)
    if (account.display_name, account.note) != before:
        detection_service.queue_profile(
            uow, settings, account.id, account.display_name, account.note
        )
    for image in images:  # after the other fields validated: a refused update stores nothing
        await media_service.set_profile_image(uow, settings, account, image)
    await uow.session.flush()
    found = await service.profile_emojis(uow.session, settings, account)
    return credential_account_entity(settings, account, user, found)


async def profile_images(request: Request) -> list[media_service.Incoming]:
    """`avatar` and `header` files of a multipart update_credentials."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        return []
    form = await request.form()
    return [image for name in ("avatar", "header") if (image := incoming(form, name))]


@router.get(
    "/api/v1/accounts",
    summary="Several accounts by id (`id[]`, at most 40); missing or suspended ones left out",
)
async def accounts_by_ids(
    request: Request, uow: UowDep, settings: SettingsDep
) -> list[entities.Account]:
    ids = id_list(request, "id", MAX_ACCOUNT_IDS)
    found = await service.visible_accounts(uow.session, ids)
    used = await emojis.of_profiles(uow.session, settings, [account for account, _ in found])
    return [account_entity(settings, account, role, used) for account, role in found]


@router.get("/api/v1/preferences", summary="The caller's posting and reading preferences")
async def preferences(caller: ReadAccounts, uow: UowDep) -> entities.Preferences:
    _account, user = await _signed_in_user(uow, caller)
    return preferences_entity(user)


async def _remove_profile_image(
    caller: Caller, uow: UnitOfWork, settings: Settings, field: str
) -> entities.CredentialAccount:
    account, user = await _signed_in_user(uow, caller)
    await media_service.remove_profile_image(uow, account, field)
    await uow.session.flush()
    found = await service.profile_emojis(uow.session, settings, account)
    return credential_account_entity(settings, account, user, found)


@router.delete("/api/v1/profile/avatar", summary="Remove my avatar (back to the default)")
async def delete_avatar(
    caller: WriteCaller, uow: UowDep, settings: SettingsDep
) -> entities.CredentialAccount:
    return await _remove_profile_image(caller, uow, settings, "avatar")


@router.delete("/api/v1/profile/header", summary="Remove my header (back to the default)")
async def delete_header(
    caller: WriteCaller, uow: UowDep, settings: SettingsDep
) -> entities.CredentialAccount:
    return await _remove_profile_image(caller, uow, settings, "header")


@router.get("/api/v1/accounts/lookup", summary="Find an account by its acct (username)")
async def lookup(acct: str, uow: UowDep, settings: SettingsDep) -> entities.Account:
    username = acct.strip().removeprefix("@")
    local_host = settings.local_domain.lower()
    name, _, domain = username.partition("@")
    if domain and domain.lower() != local_host:
        raise NotFound()
    account = await service.visible_local_account(uow.session, name)
    if account is None:
        raise NotFound()
    role = await service.role_of_account(uow.session, account.id)
    found = await service.profile_emojis(uow.session, settings, account)
    return account_entity(settings, account, role, found)


@router.get(
    "/api/v1/accounts/{account_id:id}",
    response_model=entities.Account,
    summary="An account by id",
)
async def show_account(account_id: PathId, uow: UowDep, settings: SettingsDep) -> Response:
    body = await service.profile_bytes(uow, settings, account_id)
    return Response(body, media_type="application/json")


@router.get(
    "/api/v1/accounts/{account_id:id}/identity_proofs",
    summary="Identity proofs (none: Mastodon retired them; kept for older clients)",
)
async def identity_proofs(
    account_id: PathId, caller: ReadCaller, uow: UowDep
) -> list[entities.IdentityProof]:
    if await service.visible_account(uow.session, account_id) is None:
        raise NotFound()
    return []


@router.post(
    "/api/v1/emails/confirmations",
    summary="Mail the confirmation link again (optionally to a new `email`); 403 once the "
    "address is confirmed",
)
async def resend_confirmation(
    request: Request, caller: UnconfirmedCaller, uow: UowDep, settings: SettingsDep
) -> entities.Empty:
    params = await read_params(request)
    email = text(params, "email") if "email" in params else None
    await registration.resend_confirmation(uow, settings, caller.account_id, email)
    return {}


@router.post(
    "/api/v1/admin/accounts/{account_id:id}/approve",
    summary="Approve a pending account (moderators)",
)
async def approve_account(
    account_id: PathId, caller: AdminCaller, uow: UowDep, settings: SettingsDep
) -> entities.AdminAccount:
    if not has_permission(caller.token.role, Permission.MANAGE_USERS):
        refusal = Forbidden("This action is not allowed")
        raise admin.audit_refusal(moderator(caller), "approve", account_id, refusal)
    account = await service.account_by_id(uow.session, account_id)
    if account is None:
        raise NotFound()
    user = await registration.approve(uow.session, account.username)
    admin.audit_act(uow, moderator(caller), account, "approve")
    return admin_account_entity(settings, account, user)


@router.get(MISSING_AVATAR, include_in_schema=False)
async def missing_avatar() -> Response:
    return _png(grey_png(120, 120))


@router.get(MISSING_HEADER, include_in_schema=False)
async def missing_header() -> Response:
    return _png(grey_png(300, 100))


def _png(data: bytes) -> Response:
    return Response(
        data, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
    )


# ConnectHub extensions (documented in docs/api/accounts.md)


@extensions.post(
    "/api/v1/connecthub/password",
    summary="Change the password; other tokens and browser sessions are revoked",
)
async def change_password(request: Request, caller: WriteCaller, uow: UowDep) -> entities.Empty:
    _account, user = await _signed_in_user(uow, caller)
    params = await read_params(request)
    await credentials.change_password(
        uow,
        user,
        current_password=text(params, "current_password", required=True),
        new_password=text(params, "password", required=True),
        keep_token_id=caller.token.token_id,
    )
    return {}


@extensions.post(
    "/api/v1/connecthub/password_reset",
    summary="Mail a password reset link (same answer whether or not the address exists)",
    status_code=202,
    response_model=entities.Empty,
)
async def password_reset(request: Request, uow: UowDep, settings: SettingsDep) -> JSONResponse:
    params = await read_params(request)
    await credentials.request_reset(uow, settings, text(params, "email", required=True))
    return JSONResponse({}, status_code=202)


@extensions.get(
    "/api/v1/connecthub/two_factor",
    summary="Whether two-factor sign-in is enabled for the caller",
)
async def two_factor_status(caller: ReadAccounts, uow: UowDep) -> entities.TwoFactorStatus:
    _account, user = await _signed_in_user(uow, caller)
    return {"enabled": bool(user.otp_enabled)}


@extensions.post(
    "/api/v1/connecthub/two_factor",
    summary="Start enabling two-factor sign-in: a TOTP secret, otpauth URI and QR code",
)
async def begin_two_factor(
    caller: WriteCaller, uow: UowDep, settings: SettingsDep
) -> entities.TwoFactorSetup:
    account, user = await _signed_in_user(uow, caller)
    enrolment = two_factor.begin(
        user,
        secret_key=settings.secret_key,
        account_label=f"{account.username}@{settings.local_domain}",
        issuer=settings.instance_title,
    )
    return {
        "secret": enrolment.secret,
        "provisioning_uri": enrolment.provisioning_uri,
        "qr_code": enrolment.qr_code,
    }


@extensions.post(
    "/api/v1/connecthub/two_factor/confirm",
    summary="Confirm with the password and a code: enables two-factor and returns the "
    "recovery codes once",
)
async def confirm_two_factor(
    request: Request, caller: WriteCaller, uow: UowDep, settings: SettingsDep
) -> entities.TwoFactorStatus:
    _account, user = await _signed_in_user(uow, caller)
    params = await read_params(request)
    # The password too: a token alone (a stolen one) must not enrol another authenticator,
    # which would lock the owner out. Counted like a sign-in; one answer for either wrong.
    await sign_in.reauthenticate(
        uow.engines,
        uow.session,
        user,
        password=text(params, "password", required=True),
        field=two_factor.CONFIRM_FIELDS,
        code_field=None,
    )
    codes = await two_factor.confirm(
        uow.session, user, text(params, "code", required=True), secret_key=settings.secret_key
    )
    return {"enabled": True, "recovery_codes": codes}


@extensions.delete(
    "/api/v1/connecthub/two_factor",
    summary="Disable two-factor sign-in (password and a current code required)",
)
async def disable_two_factor(
    request: Request, caller: WriteCaller, uow: UowDep, settings: SettingsDep
) -> entities.TwoFactorStatus:
    _account, user = await _signed_in_user(uow, caller)
    params = await read_params(request)
    await sign_in.reauthenticate(
        uow.engines,
        uow.session,
        user,
        password=text(params, "password", required=True),
        otp_code=text(params, "code", required=True),
        code_field="code",
    )
    two_factor.disable(user)
    return {"enabled": False}


router.include_router(extensions)
