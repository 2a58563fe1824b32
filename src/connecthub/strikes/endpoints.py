"""Strikes and appeals over HTTP. ConnectHub extensions in Mastodon's style (Mastodon shows
strikes and takes appeals in its web pages only): the account holder's
`/api/v1/strikes` (list, one, appeal) and moderators' `/api/v1/admin/appeals` (list, one,
approve, reject). Handlers parse, call the strikes service, serialize."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.admin.deps import staff
from connecthub.core.params import text
from connecthub.errors import ValidationFailed
from connecthub.http.auth import Caller, require
from connecthub.http.deps import PathId, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import PageDep, link_header
from connecthub.http.params import read_params
from connecthub.strikes import service
from connecthub.strikes.service import Reviewer

router = APIRouter(tags=["strikes"], route_class=EntityRoute)

ReadCaller = Annotated[Caller, Depends(require("read:accounts"))]
WriteCaller = Annotated[Caller, Depends(require("write:accounts"))]
AppealsReader = Annotated[Caller, Depends(staff("admin:read:accounts", "appeals"))]
AppealsWriter = Annotated[Caller, Depends(staff("admin:write:accounts", "appeals"))]

_REVIEWERS = " Moderators and admins (the Manage Appeals permission); never on their own appeal. "


def _reviewer(caller: Caller) -> Reviewer:
    return Reviewer(account_id=caller.account_id, role=caller.token.role)


def _link(request: Request, response: Response, ids: list[int]) -> None:
    if ids:
        link = link_header(request, ids[0], ids[-1])
        if link:
            response.headers["Link"] = link


@router.get(
    "/api/v1/strikes",
    summary="My strikes: the moderation actions taken on my account (ConnectHub extension)",
    description=(
        "Mastodon's AccountWarning entities, newest first, with each one's appeal; "
        "paginated with `max_id`, `since_id`, `min_id`, `limit` and the `Link` header. "
        "Needs `read:accounts`."
    ),
)
async def list_strikes(
    request: Request, response: Response, caller: ReadCaller, uow: UowDep, page: PageDep
) -> list[entities.AccountWarning]:
    found, ids = await service.own_strikes(uow, caller.account_id, page)
    _link(request, response, ids)
    return found


@router.get(
    "/api/v1/strikes/{strike_id:id}",
    summary="One of my strikes (ConnectHub extension)",
    description="404 for another account's strike. Needs `read:accounts`.",
)
async def show_strike(
    strike_id: PathId, caller: ReadCaller, uow: UowDep
) -> entities.AccountWarning:
    return await service.own_strike(uow, caller.account_id, strike_id)


@router.post(
    "/api/v1/strikes/{strike_id:id}/appeal",
    summary="Appeal one of my strikes (ConnectHub extension)",
    description=(
        "`text` (required, at most 2000 characters): why the action should be undone. "
        "Once per strike, within 20 days of it (422 otherwise), as Mastodon. Answers the "
        "AccountWarning with its `appeal` (state `pending`). Needs `write:accounts`."
    ),
)
async def appeal_strike(
    request: Request, strike_id: PathId, caller: WriteCaller, uow: UowDep
) -> entities.AccountWarning:
    params = await read_params(request)
    return await service.appeal(uow, caller.account_id, strike_id, text(params, "text"))


@router.get(
    "/api/v1/admin/appeals",
    summary="Appeals of strikes (moderators; ConnectHub extension)",
    description=(
        "Newest first, paginated with `max_id`, `since_id`, `min_id`, `limit` and the "
        "`Link` header; `status`: `pending` (the default) or `all`. Needs "
        "`admin:read:accounts`." + _REVIEWERS
    ),
)
async def list_appeals(
    request: Request,
    response: Response,
    caller: AppealsReader,
    uow: UowDep,
    page: PageDep,
) -> list[entities.AdminAppeal]:
    status = request.query_params.get("status", "pending").strip().lower() or "pending"
    if status not in ("pending", "all"):
        raise ValidationFailed("status", "must be one of pending, all")
    found, ids = await service.list_appeals(
        uow, _reviewer(caller), page, pending_only=status == "pending"
    )
    _link(request, response, ids)
    return found


@router.get(
    "/api/v1/admin/appeals/{appeal_id:id}",
    summary="One appeal (moderators; ConnectHub extension)",
    description="Needs `admin:read:accounts`." + _REVIEWERS,
)
async def show_appeal(
    appeal_id: PathId, caller: AppealsReader, uow: UowDep
) -> entities.AdminAppeal:
    return await service.show_appeal(uow, _reviewer(caller), appeal_id)


@router.post(
    "/api/v1/admin/appeals/{appeal_id:id}/approve",
    summary="Approve an appeal: the strike's action is undone (moderators; ConnectHub extension)",
    description=(
        "As Mastodon's approval: a disabled login is enabled, a limit or sensitive mark "
        "lifted, a suspension lifted (422 for an account being deleted); the strike is "
        "overruled and the account holder mailed. 422 for an appeal already decided. "
        "Needs `admin:write:accounts`." + _REVIEWERS
    ),
)
async def approve_appeal(
    appeal_id: PathId, caller: AppealsWriter, uow: UowDep
) -> entities.AdminAppeal:
    return await service.approve(uow, _reviewer(caller), appeal_id)


@router.post(
    "/api/v1/admin/appeals/{appeal_id:id}/reject",
    summary="Reject an appeal: the action stands (moderators; ConnectHub extension)",
    description=(
        "The rejection is recorded (the strike's `appeal.state` is `rejected`) and the "
        "account holder mailed. 422 for an appeal already decided. Needs "
        "`admin:write:accounts`." + _REVIEWERS
    ),
)
async def reject_appeal(
    appeal_id: PathId, caller: AppealsWriter, uow: UowDep
) -> entities.AdminAppeal:
    return await service.reject(uow, _reviewer(caller), appeal_id)
