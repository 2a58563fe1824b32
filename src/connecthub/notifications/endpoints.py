"""Notifications API (Mastodon's `/api/v1/notifications`). Handlers parse, call the
service, serialize."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.http.auth import Caller, require
from connecthub.http.deps import UowDep, param_id, path_id
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import PageDep, link_header
from connecthub.http.params import read_params
from connecthub.notifications import service
from connecthub.notifications.service import Filters
from connecthub.statuses.schemas import string_list

router = APIRouter(tags=["notifications"], route_class=EntityRoute)

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


async def _filters(request: Request) -> Filters:
    params = await read_params(request)
    types = string_list(params, "types")
    known = [t for t in types if t in service.TYPES]
    if types and not known:
        # Only unknown types asked for: nothing can match (an empty filter would match all).
        known = ["-"]
    return Filters(
        types=known,
        exclude_types=_known_types(params, "exclude_types"),
        account_id=_numeric(params, "account_id"),
    )


@router.get(
    "/api/v1/notifications",
    response_model=list[entities.Notification],
    summary="The caller's notifications, newest first",
)
async def list_notifications(
    request: Request, page: PageDep, caller: ReadNotifications, uow: UowDep
) -> Response:
    filters = await _filters(request)
    views, body = await service.page(uow, caller.account_id, filters, page)
    link = link_header(request, views[0].id, views[-1].id) if views else None
    return Response(body, media_type="application/json", headers={"Link": link} if link else None)


@router.get(
    "/api/v1/notifications/unread_count",
    summary="How many notifications are newer than the notifications read marker",
)
async def unread_count(request: Request, caller: ReadNotifications, uow: UowDep) -> dict[str, int]:
    params = await read_params(request)
    limit = _numeric(params, "limit") or service.UNREAD_COUNT_DEFAULT
    limit = max(1, min(limit, service.UNREAD_COUNT_MAX))
    filters = await _filters(request)
    return {"count": await service.unread_count(uow, caller.account_id, filters, limit)}


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
