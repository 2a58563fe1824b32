"""Scheduled statuses API (Mastodon's `/api/v1/scheduled_statuses`; scheduling itself is
`POST /api/v1/statuses` with `scheduled_at`). Handlers parse, call the service, serialize."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.http.auth import Caller, require
from connecthub.http.deps import SettingsDep, UowDep, path_id
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import PageDep, link_header
from connecthub.http.params import read_params
from connecthub.scheduled import service
from connecthub.scheduled.models import ScheduledStatus
from connecthub.scheduled.schemas import scheduled_at
from connecthub.scheduled.serializers import scheduled_status_entity

router = APIRouter(tags=["scheduled statuses"], route_class=EntityRoute)

ReadStatuses = Annotated[Caller, Depends(require("read:statuses"))]
WriteStatuses = Annotated[Caller, Depends(require("write:statuses"))]


async def one_entity(
    uow: UowDep, settings: SettingsDep, row: ScheduledStatus
) -> entities.ScheduledStatus:
    media = await service.held_media(uow, [row])
    return scheduled_status_entity(settings, row, media.get(row.id, []))


@router.get("/api/v1/scheduled_statuses", summary="The caller's scheduled statuses")
async def list_scheduled(
    request: Request,
    response: Response,
    page: PageDep,
    caller: ReadStatuses,
    uow: UowDep,
    settings: SettingsDep,
) -> list[entities.ScheduledStatus]:
    rows = await service.page_of(uow, caller.account_id, page)
    if rows:
        link = link_header(request, rows[0].id, rows[-1].id)
        if link:
            response.headers["Link"] = link
    media = await service.held_media(uow, rows)
    return [scheduled_status_entity(settings, row, media.get(row.id, [])) for row in rows]


@router.get("/api/v1/scheduled_statuses/{scheduled_id}", summary="One scheduled status")
async def get_scheduled(
    scheduled_id: str, caller: ReadStatuses, uow: UowDep, settings: SettingsDep
) -> entities.ScheduledStatus:
    row = await service.access_scheduled(uow, caller.account_id, path_id(scheduled_id))
    return await one_entity(uow, settings, row)


@router.put("/api/v1/scheduled_statuses/{scheduled_id}", summary="Change when it is posted")
async def update_scheduled(
    scheduled_id: str, request: Request, caller: WriteStatuses, uow: UowDep, settings: SettingsDep
) -> entities.ScheduledStatus:
    row = await service.access_scheduled(
        uow, caller.account_id, path_id(scheduled_id), for_update=True
    )
    when = scheduled_at(await read_params(request), required=True)
    assert when is not None  # required
    row = await service.reschedule(uow, settings, row, when)
    return await one_entity(uow, settings, row)


@router.delete("/api/v1/scheduled_statuses/{scheduled_id}", summary="Cancel a scheduled status")
async def cancel_scheduled(
    scheduled_id: str, caller: WriteStatuses, uow: UowDep, settings: SettingsDep
) -> entities.Empty:
    row = await service.access_scheduled(
        uow, caller.account_id, path_id(scheduled_id), for_update=True
    )
    await service.cancel(uow, settings, row)
    return {}


__all__ = ["router"]
