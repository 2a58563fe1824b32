"""Privacy API: deleting one's own account (a ConnectHub extension) and Mastodon's admin
account deletion. Handlers parse, call the deletion service, serialize."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from connecthub import entities
from connecthub.accounts import service as accounts
from connecthub.accounts import sign_in
from connecthub.accounts.roles import Permission, has_permission
from connecthub.accounts.serializers import admin_account_entity
from connecthub.admin import service as admin
from connecthub.admin.deps import moderator, staff
from connecthub.core.params import text
from connecthub.errors import Forbidden, NotFound
from connecthub.http.auth import Caller, require
from connecthub.http.deps import PathId, SettingsDep, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.params import read_params
from connecthub.privacy import deletion
from connecthub.privacy.serializers import account_deletion_entity

router = APIRouter(tags=["connecthub"], route_class=EntityRoute)
admin_router = APIRouter(tags=["admin"], route_class=EntityRoute)

WriteCaller = Annotated[Caller, Depends(require("write:accounts"))]
AdminCaller = Annotated[Caller, Depends(staff("admin:write:accounts", "delete"))]

DELETION_DESCRIPTION = """\
Deletes the caller's account (the GDPR right to erasure). Parameters: `password` (the
current password, required) and `otp_attempt` (a current TOTP or recovery code, required
when two-factor sign-in is on). A missing value answers 422 naming the field; a wrong
password or code answers one 422 naming both (`password or otp_attempt`), and every attempt
counts against the account's sign-in throttle (429).

At once, in this request: the account disappears from every read path (it answers 404),
every token (this one included) and browser session is revoked, open streaming
connections close, and sign-in is refused. Then a background job deletes its statuses
(with their media files), favourites, boosts, bookmarks, pins, poll votes, follows both
ways, follow requests, blocks, mutes, lists, notifications, conversations, markers,
uploads, consent records and sign-in data. The username stays reserved. Answers 202 with
`{account_id, requested_at, completed_at: null, state: "pending"}`. See docs/privacy.md.
"""


@router.post(
    "/api/v1/connecthub/account_deletion",
    status_code=202,
    summary="Delete my account (password, and a two-factor code when enabled, required)",
    description=DELETION_DESCRIPTION,
    response_model=entities.AccountDeletion,
)
async def delete_own_account(request: Request, caller: WriteCaller, uow: UowDep) -> JSONResponse:
    user = await accounts.user_for_account(uow.session, caller.account_id)
    if user is None:
        raise NotFound()
    params = await read_params(request)
    await sign_in.reauthenticate(
        uow.engines,
        uow.session,
        user,
        password=text(params, "password", required=True),
        otp_code=text(params, "otp_attempt") or None,
    )
    record = await deletion.request_deletion(uow, caller.account_id, requested_by=deletion.SELF)
    return JSONResponse(account_deletion_entity(record), status_code=202)


@admin_router.delete(
    "/api/v1/admin/accounts/{account_id:id}",
    summary="Delete an account and its data (admins: delete user data)",
    description=(
        "Mastodon's admin account deletion. Suspends the account at once (Mastodon asks "
        "for a prior suspension; ConnectHub does both in one call) and queues the same "
        "erasure as self-service deletion. Needs `admin:write:accounts` and the Delete "
        "User Data permission (admins). Answers the Admin::Account."
    ),
)
async def admin_delete_account(
    account_id: PathId, caller: AdminCaller, uow: UowDep, settings: SettingsDep
) -> entities.AdminAccount:
    if not has_permission(caller.token.role, Permission.DELETE_USER_DATA):
        refusal = Forbidden("This action is not allowed")
        raise admin.audit_refusal(moderator(caller), "delete", account_id, refusal)
    account = await accounts.account_by_id(uow.session, account_id)
    if account is None:
        raise NotFound()
    user = await accounts.user_for_account(uow.session, account_id)
    await deletion.request_deletion(
        uow,
        account_id,
        requested_by=deletion.ADMIN,
        requested_by_account_id=caller.account_id,
    )
    admin.audit_act(uow, moderator(caller), account, "delete")
    return admin_account_entity(settings, account, user)
