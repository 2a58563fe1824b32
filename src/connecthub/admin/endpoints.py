"""Mastodon's admin account API for moderators: show and list accounts, act on one (none,
sensitive, silence, disable, suspend), undo each (unsensitive, unsilence, enable,
unsuspend) and reject a sign-up. Handlers parse, call the admin service, serialize.
Account deletion (`DELETE /api/v1/admin/accounts/:id`) is the privacy domain's, approval
the accounts domain's."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.accounts.roles import ROLES
from connecthub.accounts.serializers import admin_account_entity
from connecthub.admin import service
from connecthub.admin.deps import moderator, staff
from connecthub.admin.schemas import (
    AccountAction,
    AccountFilter,
    AccountStatus,
    ActionType,
)
from connecthub.config import Settings
from connecthub.core.params import boolean, text
from connecthub.errors import NotFound, ValidationFailed
from connecthub.http.auth import Caller
from connecthub.http.deps import PathId, SettingsDep, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import PageDep, link_header
from connecthub.http.params import read_params
from connecthub.ids import parse_id

router = APIRouter(tags=["admin"], route_class=EntityRoute)


READ, WRITE = "admin:read:accounts", "admin:write:accounts"
ListCaller = Annotated[Caller, Depends(staff(READ, "list"))]
ShowCaller = Annotated[Caller, Depends(staff(READ, "show"))]
# The action's type is in the body, read after the scopes are checked.
ActionCaller = Annotated[Caller, Depends(staff(WRITE, "action"))]
UnsuspendCaller = Annotated[Caller, Depends(staff(WRITE, "unsuspend"))]
EnableCaller = Annotated[Caller, Depends(staff(WRITE, "enable"))]
UnsilenceCaller = Annotated[Caller, Depends(staff(WRITE, "unsilence"))]
UnsensitiveCaller = Annotated[Caller, Depends(staff(WRITE, "unsensitive"))]
RejectCaller = Annotated[Caller, Depends(staff(WRITE, "reject"))]

_WHO = (
    " Moderators and admins (the Manage Users permission), on an account whose role ranks "
    "below theirs and never on their own (403)."
)


def _entity(settings: Settings, found: service.AdminAccount) -> entities.AdminAccount:
    return admin_account_entity(settings, found.account, found.user, found.ips)


def _choice(params: dict[str, Any], field: str, choices: list[str]) -> str | None:
    value = text(params, field).strip().lower()
    if value and value not in choices:
        raise ValidationFailed(field, f"must be one of {', '.join(choices)}")
    return value or None


def _filters(params: dict[str, Any], settings: Settings) -> AccountFilter:
    origin = _choice(params, "origin", ["local", "remote"])
    status = _choice(params, "status", [s.value for s in AccountStatus])
    staff = _choice(params, "permissions", ["staff"]) is not None
    ip = text(params, "ip").strip() or None
    if ip is not None:
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            raise ValidationFailed("ip", "is not an IP address") from None
    by_domain = text(params, "by_domain").strip().lower()
    invited_by = text(params, "invited_by")
    if invited_by and parse_id(invited_by) is None:
        raise ValidationFailed("invited_by", "must be a numeric id")
    raw_roles = params.get("role_ids", [])
    if not isinstance(raw_roles, list) or not all(isinstance(r, str | int) for r in raw_roles):
        raise ValidationFailed("role_ids", "must be a list of role ids")
    by_id = {info.id: role.value for role, info in ROLES.items()}
    roles = frozenset(by_id[str(r)] for r in raw_roles if str(r) in by_id)
    nothing = (
        origin == "remote"
        or bool(by_domain and by_domain != settings.local_domain.lower())
        or bool(invited_by)  # ConnectHub has no invites: nobody was invited
        or bool(raw_roles and not roles)
    )
    return AccountFilter(
        status=AccountStatus(status) if status else None,
        username=text(params, "username").strip().lstrip("@") or None,
        display_name=text(params, "display_name").strip() or None,
        email=text(params, "email").strip() or None,
        ip=ip,
        staff=staff,
        roles=roles,
        nothing=nothing,
    )


def _record_id(params: dict[str, Any], field: str) -> int | None:
    """An optional id naming a record; one that cannot name any is 404, as Mastodon's
    `find` answers."""
    raw = text(params, field).strip()
    if not raw:
        return None
    found = parse_id(raw)
    if found is None:
        raise NotFound(f"{field} does not name a record")
    return found


# v1's status switches, in Mastodon's order: when several are sent, the last one present wins.
_V1_STATUSES = ("active", "pending", "disabled", "silenced", "suspended")


def _v1_filters(params: dict[str, Any], settings: Settings) -> AccountFilter:
    """The v1 list's parameters as the v2 filters they stand for: Mastodon's defaults are
    local and active accounts, and a switch counts when it is sent with any value."""

    def sent(name: str) -> bool:
        value = params.get(name)
        return value is not None and value != "" and value != []

    translated: dict[str, Any] = {
        key: params[key]
        for key in ("username", "display_name", "email", "ip", "by_domain")
        if key in params
    }
    translated["origin"] = "remote" if sent("remote") else "local"
    translated["status"] = next((name for name in reversed(_V1_STATUSES) if sent(name)), "active")
    if sent("staff"):
        translated["permissions"] = "staff"
    return _filters(translated, settings)


def _action(params: dict[str, Any]) -> AccountAction:
    kind = _choice(params, "type", [t.value for t in ActionType])
    if kind is None:
        raise ValidationFailed("type", "is required")
    return AccountAction(
        type=ActionType(kind),
        text=text(params, "text"),
        send_email_notification=bool(boolean(params, "send_email_notification", default=True)),
        report_id=_record_id(params, "report_id"),
        warning_preset_id=_record_id(params, "warning_preset_id"),
    )


@router.get(
    "/api/v1/admin/accounts",
    summary="List accounts, filtered (moderators; Mastodon's v1 filters)",
    description=(
        "Mastodon's v1 admin account list: local and active accounts unless asked "
        "otherwise. Switches (any value): `local`, `remote`, `active`, `pending`, "
        "`disabled`, `silenced`, `suspended`, `staff`; text filters `username` (prefix), "
        "`display_name`, `email` (substring), `ip`, `by_domain`. Newest first, paginated "
        "with `max_id`, `since_id`, `min_id`, `limit` and the `Link` header. Needs "
        "`admin:read:accounts`." + _WHO
    ),
)
async def list_accounts_v1(
    request: Request,
    response: Response,
    caller: ListCaller,
    uow: UowDep,
    settings: SettingsDep,
    page: PageDep,
) -> list[entities.AdminAccount]:
    filters = _v1_filters(await read_params(request), settings)
    found = await service.list_accounts(uow.session, moderator(caller), filters, page)
    if found:
        link = link_header(request, found[0].account.id, found[-1].account.id)
        if link:
            response.headers["Link"] = link
    return [_entity(settings, item) for item in found]


@router.get(
    "/api/v2/admin/accounts",
    summary="List accounts, filtered (moderators)",
    description=(
        "Mastodon's v2 admin account list, newest first, paginated with `max_id`, "
        "`since_id`, `min_id`, `limit` and the `Link` header. Filters: `origin` (local, "
        "remote), `status` (active, pending, disabled, silenced, suspended), `permissions` "
        "(staff), `role_ids[]`, `username` (prefix), `display_name`, `email` (substring), "
        "`ip`, `by_domain`, `invited_by`. Needs `admin:read:accounts`." + _WHO
    ),
)
async def list_accounts(
    request: Request,
    response: Response,
    caller: ListCaller,
    uow: UowDep,
    settings: SettingsDep,
    page: PageDep,
) -> list[entities.AdminAccount]:
    filters = _filters(await read_params(request), settings)
    found = await service.list_accounts(uow.session, moderator(caller), filters, page)
    if found:
        link = link_header(request, found[0].account.id, found[-1].account.id)
        if link:
            response.headers["Link"] = link
    return [_entity(settings, item) for item in found]


@router.get(
    "/api/v1/admin/accounts/{account_id:id}",
    summary="One account as moderators see it (Admin::Account)",
    description="Needs `admin:read:accounts`." + _WHO,
)
async def show_account(
    account_id: PathId, caller: ShowCaller, uow: UowDep, settings: SettingsDep
) -> entities.AdminAccount:
    return _entity(settings, await service.show(uow.session, moderator(caller), account_id))


@router.post(
    "/api/v1/admin/accounts/{account_id:id}/action",
    summary="Act on an account: none, sensitive, silence, disable or suspend (moderators)",
    description=(
        "`type`: `none` (a warning only), `sensitive` (all its statuses shown sensitive, "
        "new media stored so), `silence` (limited: out of the public and hashtag timelines, "
        "out of search for non-followers, its follows become requests), `disable` (no "
        "sign-in, every token revoked and streaming connections closed; content stays "
        "visible) or `suspend` (the account and its content vanish, tokens revoked, "
        "streaming connections closed). Each writes a strike (`GET /api/v1/strikes`). "
        "`text` (the moderator's note), `report_id` and `warning_preset_id` (404 when they "
        "name nothing) and `send_email_notification` (default true: a `moderation_warning` "
        "notification and a mail) are optional. Answers `{}`. Needs "
        "`admin:write:accounts`." + _WHO
    ),
)
async def act_on_account(
    request: Request, account_id: PathId, caller: ActionCaller, uow: UowDep
) -> entities.Empty:
    action = _action(await read_params(request))
    await service.perform_action(uow, moderator(caller), account_id, action)
    return {}


@router.post(
    "/api/v1/admin/accounts/{account_id:id}/unsuspend",
    summary="Lift a suspension (moderators)",
    description=(
        "The account and its content are visible again; revoked tokens stay revoked. 422 "
        "for an account whose deletion was asked for. Answers the Admin::Account. Needs "
        "`admin:write:accounts`." + _WHO
    ),
)
async def unsuspend_account(
    account_id: PathId, caller: UnsuspendCaller, uow: UowDep, settings: SettingsDep
) -> entities.AdminAccount:
    return _entity(settings, await service.unsuspend(uow, moderator(caller), account_id))


@router.post(
    "/api/v1/admin/accounts/{account_id:id}/enable",
    summary="Re-enable sign-in to a disabled account (moderators)",
    description=(
        "The person may sign in again (revoked tokens stay revoked). 422 for an account "
        "whose deletion was asked for. Answers the Admin::Account. Needs "
        "`admin:write:accounts`." + _WHO
    ),
)
async def enable_account(
    account_id: PathId, caller: EnableCaller, uow: UowDep, settings: SettingsDep
) -> entities.AdminAccount:
    return _entity(settings, await service.enable(uow, moderator(caller), account_id))


@router.post(
    "/api/v1/admin/accounts/{account_id:id}/unsilence",
    summary="Lift a limit (silence) (moderators)",
    description=(
        "The account's posts return to the public timelines and its profile to search. "
        "Answers the Admin::Account. Needs `admin:write:accounts`." + _WHO
    ),
)
async def unsilence_account(
    account_id: PathId, caller: UnsilenceCaller, uow: UowDep, settings: SettingsDep
) -> entities.AdminAccount:
    return _entity(settings, await service.unsilence(uow, moderator(caller), account_id))


@router.post(
    "/api/v1/admin/accounts/{account_id:id}/unsensitive",
    summary="Stop forcing the account's media sensitive (moderators)",
    description=(
        "Its statuses show their own `sensitive` again (those posted while marked stay "
        "sensitive). Answers the Admin::Account. Needs `admin:write:accounts`." + _WHO
    ),
)
async def unsensitive_account(
    account_id: PathId, caller: UnsensitiveCaller, uow: UowDep, settings: SettingsDep
) -> entities.AdminAccount:
    return _entity(settings, await service.unsensitive(uow, moderator(caller), account_id))


@router.post(
    "/api/v1/admin/accounts/{account_id:id}/reject",
    summary="Reject a sign-up held for approval (moderators)",
    description=(
        "The pending account is erased as a deleted account is (suspended at once, its "
        "data erased by a job). 403 for an account already approved. Answers the "
        "Admin::Account as it was. Needs `admin:write:accounts`." + _WHO
    ),
)
async def reject_account(
    account_id: PathId, caller: RejectCaller, uow: UowDep, settings: SettingsDep
) -> entities.AdminAccount:
    return _entity(settings, await service.reject(uow, moderator(caller), account_id))
