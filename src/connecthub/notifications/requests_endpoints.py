"""The notification policy and requests API of Mastodon 4.3: `/api/v2/notifications/policy`
(and the older `/api/v1/notifications/policy`), `/api/v1/notifications/requests`.
Included by notifications/endpoints.py ahead of its `/{id}` routes, which would take
`policy` and `requests` for ids. Handlers parse, call the service, serialize."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.core.params import boolean
from connecthub.errors import ValidationFailed
from connecthub.http.auth import Caller, require
from connecthub.http.deps import UowDep, path_id
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import WidePageDep, link_header
from connecthub.http.params import read_params
from connecthub.http.responses import EntityResponse
from connecthub.ids import parse_id
from connecthub.notifications import policy, requests_service

router = APIRouter(tags=["notifications"], route_class=EntityRoute)

ReadNotifications = Annotated[Caller, Depends(require("read:notifications"))]
WriteNotifications = Annotated[Caller, Depends(require("write:notifications"))]

# Mastodon takes at most this many ids in one bulk accept or dismiss.
BULK_IDS_MAX = 100


@router.get("/api/v2/notifications/policy", summary="The caller's notification policy")
async def get_policy(caller: ReadNotifications, uow: UowDep) -> entities.NotificationPolicy:
    return await requests_service.get_policy(uow, caller.account_id)


@router.patch("/api/v2/notifications/policy", summary="Change the notification policy")
async def update_policy(
    request: Request, caller: WriteNotifications, uow: UowDep
) -> entities.NotificationPolicy:
    params = await read_params(request)
    changes = {}
    for field in policy.FIELDS:
        value = params.get(field)
        if value is None or value == "":
            continue  # not given: unchanged
        if not isinstance(value, str):
            raise ValidationFailed(field, f"must be one of {', '.join(policy.CHOICES)}")
        changes[field] = value
    return await requests_service.update_policy(uow, caller.account_id, changes)


@router.get(
    "/api/v1/notifications/policy",
    summary="The caller's notification policy (Mastodon 4.3's deprecated boolean shape)",
)
async def get_v1_policy(caller: ReadNotifications, uow: UowDep) -> entities.V1NotificationPolicy:
    return await requests_service.get_v1_policy(uow, caller.account_id)


@router.patch(
    "/api/v1/notifications/policy",
    summary="Change the notification policy (true filters that kind of sender)",
)
async def update_v1_policy(
    request: Request, caller: WriteNotifications, uow: UowDep
) -> entities.V1NotificationPolicy:
    params = await read_params(request)
    changes = {}
    for field in requests_service.V1_FIELDS:
        value = boolean(params, field)
        if value is not None:
            changes[field] = value
    return await requests_service.update_v1_policy(uow, caller.account_id, changes)


@router.get(
    "/api/v1/notifications/requests",
    response_model=list[entities.NotificationRequest],
    summary="Requests of senders whose notifications the policy filtered, newest first",
)
async def list_requests(
    request: Request, page: WidePageDep, caller: ReadNotifications, uow: UowDep
) -> Response:
    rows, found = await requests_service.requests_page(uow, caller.account_id, page)
    link = link_header(request, rows[0].request.id, rows[-1].request.id) if rows else None
    return EntityResponse(found, headers={"Link": link} if link else None)


@router.get(
    "/api/v1/notifications/requests/merged",
    summary="Whether accepted requests' notifications are all in the list",
)
async def requests_merged(caller: ReadNotifications) -> entities.NotificationsMerged:
    return requests_service.merged()


def _ids(params: dict[str, Any]) -> list[int]:
    """`id[]` (or `id`) of a bulk accept or dismiss: 422 naming `id` for a non-id."""
    raw = params.get("id")
    values = raw if isinstance(raw, list) else [] if raw is None else [raw]
    if len(values) > BULK_IDS_MAX:
        raise ValidationFailed("id", f"at most {BULK_IDS_MAX} ids")
    ids = []
    for value in values:
        number = parse_id(value) if isinstance(value, str | int) else None
        if number is None:
            raise ValidationFailed("id", "must be numeric ids")
        ids.append(number)
    return list(dict.fromkeys(ids))


@router.post("/api/v1/notifications/requests/accept", summary="Accept several requests")
async def accept_requests(
    request: Request, caller: WriteNotifications, uow: UowDep
) -> entities.Empty:
    ids = _ids(await read_params(request))
    await requests_service.accept_many(uow, caller.account_id, ids)
    return {}


@router.post("/api/v1/notifications/requests/dismiss", summary="Dismiss several requests")
async def dismiss_requests(
    request: Request, caller: WriteNotifications, uow: UowDep
) -> entities.Empty:
    ids = _ids(await read_params(request))
    await requests_service.dismiss_many(uow, caller.account_id, ids)
    return {}


@router.get("/api/v1/notifications/requests/{request_id}", summary="One notification request")
async def get_request(
    request_id: str, caller: ReadNotifications, uow: UowDep
) -> entities.NotificationRequest:
    return await requests_service.one_request(uow, caller.account_id, path_id(request_id))


@router.post(
    "/api/v1/notifications/requests/{request_id}/accept",
    summary="Accept a request: its notifications join the list, later ones pass the policy",
)
async def accept_request(
    request_id: str, caller: WriteNotifications, uow: UowDep
) -> entities.Empty:
    await requests_service.accept(uow, caller.account_id, path_id(request_id))
    return {}


@router.post(
    "/api/v1/notifications/requests/{request_id}/dismiss",
    summary="Dismiss a request: its filtered notifications are deleted",
)
async def dismiss_request(
    request_id: str, caller: WriteNotifications, uow: UowDep
) -> entities.Empty:
    await requests_service.dismiss(uow, caller.account_id, path_id(request_id))
    return {}
