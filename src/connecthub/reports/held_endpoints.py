"""Statuses held for review (a ConnectHub extension in the style of Mastodon's admin API,
docs/status-review.md): list, show, approve, reject. Handlers parse, call reports/held.py,
serialize."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.admin.schemas import Moderator
from connecthub.core.pagination import Page
from connecthub.core.params import boolean, text
from connecthub.errors import Forbidden
from connecthub.http.auth import optional_token, require
from connecthub.http.deps import PathId, UowDep, param_id
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import link_header, page_params_within
from connecthub.http.params import read_params
from connecthub.ids import parse_id
from connecthub.reports import held
from connecthub.reports.deps import READ, WRITE

router = APIRouter(tags=["reports"], route_class=EntityRoute)

HeldPageDep = Annotated[Page, Depends(page_params_within(100, 200))]


def _moderator(scope: str, action: str) -> Callable[[Request], Awaitable[Moderator]]:
    """The moderator calling with a user token holding `scope` (or its parent); a refused
    token of a signed-in account is audited as `action` on the path's status."""
    check = require(scope)

    async def dependency(request: Request) -> Moderator:
        try:
            caller = await check(request)
        except Forbidden as refusal:
            token = await optional_token(request)
            if token is None or token.account_id is None:
                raise
            who = Moderator(account_id=token.account_id, role=token.role)
            status_id = parse_id(request.path_params.get("status_id"))
            raise held.audit_refusal(who, action, status_id, refusal) from None
        return Moderator(account_id=caller.account_id, role=caller.token.role)

    return dependency


ListCaller = Annotated[Moderator, Depends(_moderator(READ, "list"))]
ShowCaller = Annotated[Moderator, Depends(_moderator(READ, "show"))]
ApproveCaller = Annotated[Moderator, Depends(_moderator(WRITE, "approve"))]
RejectCaller = Annotated[Moderator, Depends(_moderator(WRITE, "reject"))]

_WHO = (
    " Moderators and admins (the Manage Reports permission); anyone else gets 403, and so "
    "does a token without the scope. A moderator cannot decide on their own status (403)."
)


@router.get(
    "/api/v1/admin/held_statuses",
    summary="Statuses held for review, newest first (ConnectHub extension)",
    description=(
        "`account_id` narrows to one author. Paginated with `max_id`, `since_id`, `min_id`, "
        "`limit` (100 by default, at most 200) and the `Link` header. Needs "
        "`admin:read:reports`." + _WHO
    ),
)
async def list_held(
    request: Request, response: Response, caller: ListCaller, uow: UowDep, page: HeldPageDep
) -> list[entities.HeldStatus]:
    params = await read_params(request)
    account_id = text(params, "account_id")
    found = await held.list_held(
        uow, caller, param_id("account_id", account_id) if account_id else None, page
    )
    if found:
        link = link_header(request, int(found[0]["id"]), int(found[-1]["id"]))
        if link:
            response.headers["Link"] = link
    return found


@router.get(
    "/api/v1/admin/held_statuses/{status_id:id}",
    summary="One held status (ConnectHub extension)",
    description="404 once it is approved or rejected. Needs `admin:read:reports`." + _WHO,
)
async def show_held(status_id: PathId, caller: ShowCaller, uow: UowDep) -> entities.HeldStatus:
    return await held.show(uow, caller, status_id)


@router.post(
    "/api/v1/admin/held_statuses/{status_id:id}/approve",
    summary="Publish a held status (ConnectHub extension)",
    description=(
        "Published as a new post is: mentions notified, followers' home timelines and "
        "streams, the public streams. Answers the status as it was held. Needs "
        "`admin:write:reports`." + _WHO
    ),
)
async def approve_held(
    status_id: PathId, caller: ApproveCaller, uow: UowDep
) -> entities.HeldStatus:
    return await held.approve(uow, caller, status_id)


@router.post(
    "/api/v1/admin/held_statuses/{status_id:id}/reject",
    summary="Reject a held status: it is deleted (ConnectHub extension)",
    description=(
        "The author gets a `delete_statuses` strike naming it, with `text` (optional, at "
        "most 5000 characters), which they may appeal, and a `moderation_warning` "
        "notification unless `send_email_notification=false`. Answers the status as it was "
        "held. Needs `admin:write:reports`." + _WHO
    ),
)
async def reject_held(
    request: Request, status_id: PathId, caller: RejectCaller, uow: UowDep
) -> entities.HeldStatus:
    params = await read_params(request)
    rejection = held.Rejection(
        text=text(params, "text") or "",
        notify=bool(boolean(params, "send_email_notification", default=True)),
    )
    return await held.reject(uow, caller, status_id, rejection)
