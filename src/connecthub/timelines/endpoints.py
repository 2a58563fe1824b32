"""Timeline routes (home, public, hashtag, list) and read markers, in Mastodon's shapes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.config import Settings
from connecthub.errors import ValidationFailed
from connecthub.http.auth import Caller, OptionalToken, admitted_account, require
from connecthub.http.deps import PathId, SettingsDep, UowDep, param_id
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import PageDep, link_value, paged_json, plain_page
from connecthub.http.params import query_flag, read_params
from connecthub.http.responses import EntityResponse
from connecthub.infra.engines import Engines
from connecthub.infra.uow import UnitOfWork
from connecthub.oauth.identity import TokenInfo
from connecthub.statuses.entity_bytes import status_page
from connecthub.statuses.serializers import StatusRef
from connecthub.timelines import service
from connecthub.timelines.lists_endpoints import router as lists_router
from connecthub.timelines.serializers import marker_entity

router = APIRouter(tags=["timelines"], route_class=EntityRoute)
router.include_router(lists_router)

ReadStatuses = Annotated[Caller, Depends(require("read:statuses"))]
ReadLists = Annotated[Caller, Depends(require("read:lists"))]
WriteStatuses = Annotated[Caller, Depends(require("write:statuses"))]
HOME_PATH = "/api/v1/timelines/home"
_HOME_SCOPES = ("read:statuses",)  # ReadStatuses'


async def _render(
    request: Request,
    uow: UnitOfWork,
    settings: Settings,
    statuses: Sequence[StatusRef],
    viewer_id: int | None,
    context: str,
) -> Response:
    body = await status_page(uow.session, statuses, viewer_id, settings, context=context)
    return _answer(request, body, statuses)


def _answer(request: Request, body: bytes, statuses: Sequence[StatusRef]) -> Response:
    # The Link header follows the rows read, so a page that filters left short still leads
    # on to the next one.
    return paged_json(request, body, [status.id for status in statuses])


@router.get(
    HOME_PATH,
    response_model=list[entities.Status],
    summary="Posts of the accounts I follow, and mine",
)
async def home(
    request: Request,
    page: PageDep,
    caller: ReadStatuses,
    uow: UowDep,
    settings: SettingsDep,
) -> Response:
    answer = await service.home_page(uow, caller.account_id, page, settings)
    if answer is None:
        statuses = await service.home(uow, caller.account_id, page)
        return await _render(request, uow, settings, statuses, caller.account_id, "home")
    return _answer(request, *answer)


def home_at_once(
    engines: Engines, token: TokenInfo | None, query: bytes
) -> tuple[bytes, bytes] | None:
    """`home`'s answer (head lines, body) when `require` lets `token` in, the query asks
    for nothing but a page, and this process keeps that page with nothing it depends on
    changed (http/edge.py answers it at once, ADR 0053); None otherwise."""
    asked = plain_page(query)
    account_id = admitted_account(token, _HOME_SCOPES)
    if asked is None or account_id is None:
        return None
    page, kept_query = asked
    answer = service.held_home_page(engines, account_id, page)
    if answer is None:
        return None
    body, statuses = answer
    head = b"content-length: %d\r\ncontent-type: application/json\r\n" % len(body)
    if statuses:
        base = engines.settings.base_url + HOME_PATH
        link = link_value(base, kept_query.decode("ascii"), statuses[0].id, statuses[-1].id)
        head = b"link: " + link.encode("latin-1") + b"\r\n" + head
    return head, body


@router.get(
    "/api/v1/timelines/public",
    response_model=list[entities.Status],
    summary="Public posts of this server",
)
async def public(
    request: Request,
    page: PageDep,
    token: OptionalToken,
    uow: UowDep,
    settings: SettingsDep,
) -> Response:
    viewer_id = token.account_id if token else None
    query_flag(request, "local")  # every post is local until federation exists
    if query_flag(request, "remote"):
        return EntityResponse([])
    statuses = await service.public(
        uow, viewer_id, page, only_media=query_flag(request, "only_media")
    )
    return await _render(request, uow, settings, statuses, viewer_id, "public")


def _tags(request: Request, name: str) -> list[str]:
    values = request.query_params.getlist(f"{name}[]") or request.query_params.getlist(name)
    return [value.strip().lstrip("#") for value in values if value.strip()]


@router.get(
    "/api/v1/timelines/tag/{hashtag}",
    response_model=list[entities.Status],
    summary="Public posts with a hashtag",
)
async def tag(
    hashtag: str,
    request: Request,
    page: PageDep,
    token: OptionalToken,
    uow: UowDep,
    settings: SettingsDep,
) -> Response:
    viewer_id = token.account_id if token else None
    query_flag(request, "local")
    if query_flag(request, "remote"):
        return EntityResponse([])
    statuses = await service.hashtag(
        uow,
        viewer_id,
        page,
        any_of=[hashtag.lstrip("#"), *_tags(request, "any")],
        all_of=_tags(request, "all"),
        none_of=_tags(request, "none"),
        only_media=query_flag(request, "only_media"),
    )
    return await _render(request, uow, settings, statuses, viewer_id, "public")


@router.get(
    "/api/v1/timelines/list/{list_id}",
    response_model=list[entities.Status],
    summary="Posts by the members of one of my lists",
)
async def list_timeline(
    list_id: PathId,
    request: Request,
    page: PageDep,
    caller: ReadLists,
    uow: UowDep,
    settings: SettingsDep,
) -> Response:
    lst = await service.access_list(uow, caller.account_id, list_id)
    statuses = await service.list_timeline(uow, lst, page)
    return await _render(request, uow, settings, statuses, caller.account_id, "home")


@router.get("/api/v1/markers", summary="Where I stopped reading home and notifications")
async def get_markers(
    request: Request, caller: ReadStatuses, uow: UowDep
) -> dict[str, entities.Marker]:
    wanted = request.query_params.getlist("timeline[]") or request.query_params.getlist("timeline")
    timelines = [name for name in wanted if name in service.MARKER_TIMELINES]
    markers = await service.markers(uow, caller.account_id, timelines)
    return {marker.timeline: marker_entity(marker) for marker in markers}


@router.post("/api/v1/markers", summary="Save where I stopped reading")
async def save_markers(
    request: Request, caller: WriteStatuses, uow: UowDep
) -> dict[str, entities.Marker]:
    values = await read_params(request)
    updates: dict[str, int] = {}
    for name in service.MARKER_TIMELINES:
        section = values.get(name)
        if section is None:
            continue
        last_read = section.get("last_read_id") if isinstance(section, dict) else None
        updates[name] = param_id(f"{name}[last_read_id]", last_read)
    if not updates:
        raise ValidationFailed("home", "give home[last_read_id] or notifications[last_read_id]")
    saved = await service.save_markers(uow, caller.account_id, updates)
    return {marker.timeline: marker_entity(marker) for marker in saved}
