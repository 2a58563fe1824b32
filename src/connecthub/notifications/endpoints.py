"""Notifications API (Mastodon's `/api/v1/notifications`, and the grouped
`/api/v2/notifications`). Handlers parse, call the service, serialize."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.errors import BadRequest, NotFound
from connecthub.http.auth import Caller, require
from connecthub.http.deps import UowDep, param_id, path_id
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import PageDep, WidePageDep, link_header
from connecthub.http.params import query_flag, read_params
from connecthub.http.responses import EntityResponse
from connecthub.notifications import grouping, service
from connecthub.notifications.requests_endpoints import router as requests_router
from connecthub.notifications.service import Filters
from connecthub.statuses.schemas import string_list

router = APIRouter(tags=["notifications"], route_class=EntityRoute)
# First: `/api/v1/notifications/{id}` and `/api/v2/notifications/{group_key}` below would
# take `policy` and `requests` for an id and a key.
router.include_router(requests_router)

ReadNotifications = Annotated[Caller, Depends(require("read:notifications"))]
WriteNotifications = Annotated[Caller, Depends(require("write:notifications"))]


def _known_types(params: dict[str, Any], name: str) -> list[str]:
    # Unknown types are ignored, as Mastodon does, so newer clients keep working.
    return [t for t in string_list(params, name) if t in service.TYPES]


def _numeric(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    return param_id(name, value)


async def _filters(request: Request, *, lists: bool = False) -> Filters:
    """The list filters; `lists`: a list route, which also takes `include_filtered`."""
    params = await read_params(request)
    types = string_list(params, "types")
    known = [t for t in types if t in service.TYPES]
    if types and not known:
        # Only unknown types asked for: nothing can match (an empty filter would match all).
        known = ["-"]
    excluded = _known_types(params, "exclude_types")
    excluded += [t for t in sorted(service.OPT_IN_TYPES) if t not in known and t not in excluded]
    account_id = _numeric(params, "account_id")
    return Filters(
        types=known,
        exclude_types=excluded,
        account_id=account_id,
        # One sender's notifications include the filtered ones, as Mastodon's (that is how
        # clients show a request's notifications).
        include_filtered=account_id is not None
        or (lists and query_flag(request, "include_filtered")),
    )


@router.get(
    "/api/v1/notifications",
    response_model=list[entities.Notification],
    summary="The caller's notifications, newest first",
)
async def list_notifications(
    request: Request, page: PageDep, caller: ReadNotifications, uow: UowDep
) -> Response:
    filters = await _filters(request, lists=True)
    views, body = await service.page(uow, caller.account_id, filters, page)
    link = link_header(request, views[0].id, views[-1].id) if views else None
    return Response(body, media_type="application/json", headers={"Link": link} if link else None)


@router.get(
    "/api/v1/notifications/unread_count",
    summary="How many notifications are newer than the notifications read marker",
)
async def unread_count(
    request: Request, caller: ReadNotifications, uow: UowDep
) -> entities.UnreadCount:
    params = await read_params(request)
    filters = await _filters(request)
    count = await service.unread_count(uow, caller.account_id, filters, _count_limit(params))
    return {"count": count}


def _count_limit(params: dict[str, Any]) -> int:
    limit = _numeric(params, "limit") or service.UNREAD_COUNT_DEFAULT
    return max(1, min(limit, service.UNREAD_COUNT_MAX))


@router.post("/api/v1/notifications/clear", summary="Dismiss every notification")
async def clear_notifications(caller: WriteNotifications, uow: UowDep) -> entities.Empty:
    await service.clear(uow, caller.account_id)
    return {}


@router.get("/api/v1/notifications/{notification_id}", summary="One notification")
async def get_notification(
    notification_id: str, caller: ReadNotifications, uow: UowDep
) -> entities.Notification:
    return await service.one(uow, caller.account_id, path_id(notification_id))


@router.post("/api/v1/notifications/{notification_id}/dismiss", summary="Dismiss one")
async def dismiss_notification(
    notification_id: str, caller: WriteNotifications, uow: UowDep
) -> entities.Empty:
    await service.dismiss(uow, caller.account_id, path_id(notification_id))
    return {}


# Grouped notifications (API v2).


def _grouped_types(params: dict[str, Any]) -> tuple[str, ...]:
    return grouping.grouped_types(string_list(params, "grouped_types"))


def _partial_avatars(params: dict[str, Any]) -> bool:
    value = params.get("expand_accounts")
    if value in (None, "", "full"):
        return False
    if value == "partial_avatars":
        return True
    # Mastodon answers 400 here (an invalid parameter), not 422.
    raise BadRequest(
        "Invalid value for 'expand_accounts': allowed values are 'full' and 'partial_avatars'"
    )


def _group_key(value: str) -> str:
    # Longer than any key this server makes: no such group.
    if len(value) > GROUP_KEY_MAX_LENGTH:
        raise NotFound()
    return value


GROUP_KEY_MAX_LENGTH = 64


@router.get(
    "/api/v2/notifications",
    response_model=entities.GroupedNotificationsResults,
    summary="The caller's notifications, grouped, newest first",
)
async def list_grouped_notifications(
    request: Request, page: WidePageDep, caller: ReadNotifications, uow: UowDep
) -> Response:
    params = await read_params(request)
    views, results = await service.grouped_page(
        uow,
        caller.account_id,
        await _filters(request, lists=True),
        _grouped_types(params),
        page,
        partial_avatars=_partial_avatars(params),
    )
    link = link_header(request, views[0].id, views[-1].id) if views else None
    return EntityResponse(results, headers={"Link": link} if link else None)


@router.get(
    "/api/v2/notifications/unread_count",
    summary="How many notification groups are newer than the notifications read marker",
)
async def unread_group_count(
    request: Request, caller: ReadNotifications, uow: UowDep
) -> entities.UnreadCount:
    params = await read_params(request)
    count = await service.unread_group_count(
        uow,
        caller.account_id,
        await _filters(request),
        _grouped_types(params),
        _count_limit(params),
    )
    return {"count": count}


@router.get("/api/v2/notifications/{group_key}", summary="One notification group")
async def get_notification_group(
    group_key: str, caller: ReadNotifications, uow: UowDep
) -> entities.GroupedNotificationsResults:
    return await service.group(uow, caller.account_id, _group_key(group_key))


@router.post(
    "/api/v2/notifications/{group_key}/dismiss",
    summary="Dismiss every notification of a group",
)
async def dismiss_notification_group(
    group_key: str, caller: WriteNotifications, uow: UowDep
) -> entities.Empty:
    await service.dismiss_group(uow, caller.account_id, _group_key(group_key))
    return {}


@router.get(
    "/api/v2/notifications/{group_key}/accounts",
    response_model=list[entities.Account],
    summary="The accounts of a notification group, newest first",
)
async def notification_group_accounts(
    request: Request, group_key: str, page: WidePageDep, caller: ReadNotifications, uow: UowDep
) -> Response:
    rows, accounts = await service.group_accounts(
        uow, caller.account_id, _group_key(group_key), page
    )
    link = link_header(request, rows[0].notification.id, rows[-1].notification.id) if rows else None
    return EntityResponse(accounts, headers={"Link": link} if link else None)
