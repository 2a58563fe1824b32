"""Timeline routes (home, public, hashtag) and read markers, in Mastodon's shapes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from connecthub.accounts import params
from connecthub.accounts.serializers import iso
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.errors import ValidationFailed
from connecthub.http.auth import Caller, OptionalToken, require
from connecthub.http.deps import SettingsDep, UowDep
from connecthub.http.pagination import PageDep, link_header
from connecthub.ids import new_id
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses.models import Status
from connecthub.statuses.serializers import status_entities
from connecthub.timelines import repository
from connecthub.timelines.models import Marker

router = APIRouter(tags=["timelines"])

ReadStatuses = Annotated[Caller, Depends(require("read:statuses"))]
ReadMarkers = Annotated[Caller, Depends(require("read:statuses"))]
WriteMarkers = Annotated[Caller, Depends(require("write:statuses"))]
MARKER_TIMELINES = ("home", "notifications")


async def _render(
    request: Request,
    response: Response,
    uow: UnitOfWork,
    settings: Settings,
    statuses: Sequence[Status],
    viewer_id: int | None,
) -> list[dict[str, Any]]:
    if statuses:
        link = link_header(request, statuses[0].id, statuses[-1].id)
        if link:
            response.headers["Link"] = link
    return await status_entities(uow.session, statuses, viewer_id, settings)


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ValidationFailed(name, "must be true or false")
    return value in ("true", "1")


@router.get("/api/v1/timelines/home", summary="Posts of the accounts I follow, and mine")
async def home(
    request: Request,
    response: Response,
    page: PageDep,
    caller: ReadStatuses,
    uow: UowDep,
    settings: SettingsDep,
) -> list[dict[str, Any]]:
    statuses = await repository.home(uow.session, caller.account_id, page)
    return await _render(request, response, uow, settings, statuses, caller.account_id)


@router.get("/api/v1/timelines/public", summary="Public posts of this server")
async def public(
    request: Request,
    response: Response,
    page: PageDep,
    token: OptionalToken,
    uow: UowDep,
    settings: SettingsDep,
) -> list[dict[str, Any]]:
    viewer_id = token.account_id if token else None
    if _flag(request, "remote"):
        return []  # no federation yet: nothing is remote
    statuses = await repository.public(
        uow.session, viewer_id, page, only_media=_flag(request, "only_media")
    )
    return await _render(request, response, uow, settings, statuses, viewer_id)


def _tags(request: Request, name: str) -> list[str]:
    values = request.query_params.getlist(f"{name}[]") or request.query_params.getlist(name)
    return [value.lstrip("#") for value in values if value.strip()]


@router.get("/api/v1/timelines/tag/{hashtag}", summary="Public posts with a hashtag")
async def tag(
    hashtag: str,
    request: Request,
    response: Response,
    page: PageDep,
    token: OptionalToken,
    uow: UowDep,
    settings: SettingsDep,
) -> list[dict[str, Any]]:
    viewer_id = token.account_id if token else None
    statuses = await repository.hashtag(
        uow.session,
        viewer_id,
        page,
        any_of=[hashtag.lstrip("#"), *_tags(request, "any")],
        all_of=_tags(request, "all"),
        none_of=_tags(request, "none"),
        only_media=_flag(request, "only_media"),
    )
    return await _render(request, response, uow, settings, statuses, viewer_id)


def _marker_entity(marker: Marker) -> dict[str, Any]:
    return {
        "last_read_id": str(marker.last_read_id),
        "version": marker.version,
        "updated_at": iso(marker.updated_at),
    }


@router.get("/api/v1/markers", summary="Where I stopped reading home and notifications")
async def get_markers(request: Request, caller: ReadMarkers, uow: UowDep) -> dict[str, Any]:
    wanted = request.query_params.getlist("timeline[]") or request.query_params.getlist("timeline")
    timelines = [name for name in wanted if name in MARKER_TIMELINES]
    markers = await repository.markers(uow.session, caller.account_id, timelines)
    return {marker.timeline: _marker_entity(marker) for marker in markers}


@router.post("/api/v1/markers", summary="Save where I stopped reading")
async def save_markers(request: Request, caller: WriteMarkers, uow: UowDep) -> dict[str, Any]:
    values = await params.read_params(request)
    updates: dict[str, int] = {}
    for name in MARKER_TIMELINES:
        section = values.get(name)
        if section is None:
            continue
        last_read = section.get("last_read_id") if isinstance(section, dict) else None
        if last_read is None or not str(last_read).isdigit():
            raise ValidationFailed(f"{name}[last_read_id]", "must be a numeric id")
        updates[name] = int(last_read)
    if not updates:
        raise ValidationFailed("home", "give home[last_read_id] or notifications[last_read_id]")
    existing = {
        m.timeline: m
        for m in await repository.markers(uow.session, caller.account_id, list(updates))
    }
    result = {}
    for name, last_read_id in updates.items():
        marker = existing.get(name)
        if marker is None:
            marker = Marker(id=new_id(), account_id=caller.account_id, timeline=name, version=0)
            uow.session.add(marker)
        marker.last_read_id = last_read_id
        marker.version = (marker.version or 0) + 1
        marker.updated_at = utcnow()
        result[name] = _marker_entity(marker)
    await uow.session.flush()
    return result
