"""Explore routes in Mastodon's shapes: trends (`/api/v1/trends/*`, offset-paginated),
the profile directory, follow suggestions, and the moderators' trends review
(`/api/v1/admin/trends/*`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from connecthub import entities
from connecthub.accounts.models import Account
from connecthub.accounts.serializers import account_entity
from connecthub.config import Settings
from connecthub.core.params import boolean
from connecthub.emojis import service as emojis
from connecthub.explore import service
from connecthub.explore.foryou_endpoints import router as for_you_router
from connecthub.http.auth import Caller, OptionalToken, require
from connecthub.http.deps import NumberParam, PathId, SettingsDep, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses.serializers import status_entities

router = APIRouter(tags=["explore"], route_class=EntityRoute)
router.include_router(for_you_router)

ReadAccounts = Annotated[Caller, Depends(require("read:accounts"))]
WriteAccounts = Annotated[Caller, Depends(require("write:accounts"))]
AdminRead = Annotated[Caller, Depends(require("admin:read"))]
AdminWrite = Annotated[Caller, Depends(require("admin:write"))]
Offset = Annotated[NumberParam, Query(ge=0, description="Skip this many results")]
Limit = Annotated[
    NumberParam | None, Query(description="Results (the route's default, at most twice it)")
]
TAGS_LIMIT = 10
STATUSES_LIMIT = 20
LINKS_LIMIT = 10
ACCOUNTS_LIMIT = 40


def _limit(requested: int | None, default: int) -> int:
    """Mastodon's `limit_param`: the route's default, at most twice it."""
    return default if requested is None else max(1, min(requested, default * 2))


def _offset_links(
    request: Request, response: Response, offset: int, limit: int, count: int
) -> None:
    """Mastodon's offset pagination: `next` while a page comes back full, `prev` past the
    first page."""
    base = request.app.state.settings.base_url + request.url.path
    links = []
    if count == limit:
        links.append(f'<{base}?limit={limit}&offset={offset + limit}>; rel="next"')
    if offset > 0:
        links.append(f'<{base}?limit={limit}&offset={max(offset - limit, 0)}>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)


async def _accounts(
    uow: UnitOfWork, settings: Settings, accounts: Sequence[Account]
) -> list[entities.Account]:
    used = await emojis.of_profiles(uow.session, settings, accounts)
    return [account_entity(settings, account, None, used) for account in accounts]


# --- trends -------------------------------------------------------------------------------


@router.get("/api/v1/trends/tags", summary="Hashtags rising now (reviewed)")
@router.get("/api/v1/trends", summary="Hashtags rising now (the older path)")
async def trending_tags(
    request: Request,
    response: Response,
    token: OptionalToken,
    uow: UowDep,
    settings: SettingsDep,
    offset: Offset = 0,
    limit: Limit = None,
) -> list[entities.TagDetails]:
    count = _limit(limit, TAGS_LIMIT)
    viewer = None if token is None else token.account_id
    tags = await service.trending_tags(uow, settings, viewer, offset, count)
    _offset_links(request, response, offset, count, len(tags))
    return tags


@router.get("/api/v1/trends/statuses", summary="Posts rising now (reviewed)")
async def trending_statuses(
    request: Request,
    response: Response,
    token: OptionalToken,
    uow: UowDep,
    settings: SettingsDep,
    offset: Offset = 0,
    limit: Limit = None,
) -> list[entities.Status]:
    count = _limit(limit, STATUSES_LIMIT)
    viewer = None if token is None else token.account_id
    statuses = await service.trending_statuses(uow, settings, viewer, offset, count)
    _offset_links(request, response, offset, count, len(statuses))
    return await status_entities(uow.session, statuses, viewer, settings, context="public")


@router.get("/api/v1/trends/links", summary="Links shared more than usual now (reviewed)")
async def trending_links(
    request: Request,
    response: Response,
    uow: UowDep,
    settings: SettingsDep,
    offset: Offset = 0,
    limit: Limit = None,
) -> list[entities.TrendsLink]:
    count = _limit(limit, LINKS_LIMIT)
    links = await service.trending_links(uow, settings, offset, count)
    _offset_links(request, response, offset, count, len(links))
    return links


# --- directory and suggestions ------------------------------------------------------------


@router.get(
    "/api/v1/directory",
    summary="Discoverable accounts, most recently active (or newest) first",
    description="`order`: `active` (default) or `new`; `local`: every account here is.",
)
async def directory(
    request: Request,
    token: OptionalToken,
    uow: UowDep,
    settings: SettingsDep,
    offset: Offset = 0,
    limit: Limit = None,
    order: Annotated[str | None, Query()] = None,
) -> list[entities.Account]:
    boolean(dict(request.query_params), "local")  # checked (422 when no boolean)
    viewer = None if token is None else token.account_id
    count = _limit(limit, ACCOUNTS_LIMIT)
    accounts = await service.directory(uow, settings, viewer, order, offset, count)
    return await _accounts(uow, settings, accounts)


@router.get("/api/v2/suggestions", summary="Accounts to follow, with why")
async def suggestions(
    caller: ReadAccounts, uow: UowDep, settings: SettingsDep, limit: Limit = None
) -> list[entities.Suggestion]:
    found = await service.suggestions(uow, caller.account_id, _limit(limit, ACCOUNTS_LIMIT))
    shown = await _accounts(uow, settings, [item.account for item in found])
    return [
        {"source": item.source, "sources": list(item.sources), "account": account}
        for item, account in zip(found, shown, strict=True)
    ]


@router.get("/api/v1/suggestions", summary="Accounts to follow (the older shape)")
async def suggestions_v1(
    caller: ReadAccounts, uow: UowDep, settings: SettingsDep, limit: Limit = None
) -> list[entities.Account]:
    found = await service.suggestions(uow, caller.account_id, _limit(limit, ACCOUNTS_LIMIT))
    return await _accounts(uow, settings, [item.account for item in found])


@router.delete("/api/v1/suggestions/{account_id:id}", summary="Never suggest this account")
async def dismiss_suggestion(
    account_id: PathId, caller: WriteAccounts, uow: UowDep
) -> entities.Empty:
    await service.dismiss_suggestion(uow, caller.account_id, account_id)
    return {}


# --- the moderators' review ---------------------------------------------------------------


@router.get("/api/v1/admin/trends/tags", summary="Trending hashtags, pending review too")
async def admin_trending_tags(
    caller: AdminRead, uow: UowDep, settings: SettingsDep
) -> list[entities.AdminTag]:
    service.require_reviewer(caller.token.role)
    return await service.admin_tags(uow, settings, caller.account_id)


@router.get("/api/v1/admin/trends/statuses", summary="Trending posts, pending review too")
async def admin_trending_statuses(
    caller: AdminRead, uow: UowDep, settings: SettingsDep
) -> list[entities.Status]:
    service.require_reviewer(caller.token.role)
    statuses = await service.admin_statuses(uow, settings, caller.account_id)
    return await status_entities(uow.session, statuses, caller.account_id, settings)


@router.get("/api/v1/admin/trends/links", summary="Trending links, pending review too")
async def admin_trending_links(
    caller: AdminRead, uow: UowDep, settings: SettingsDep
) -> list[entities.AdminTrendsLink]:
    service.require_reviewer(caller.token.role)
    return await service.admin_links(uow, settings)


async def _review(
    caller: Caller, uow: UnitOfWork, request: Request, kind: str, item_id: int
) -> None:
    """Approve or reject, as the path ends."""
    approve = request.url.path.endswith("/approve")
    await service.review(uow, caller.account_id, caller.token.role, kind, item_id, approve)
    await uow.session.flush()


@router.post("/api/v1/admin/trends/tags/{item_id:id}/approve", summary="Let a hashtag trend")
@router.post("/api/v1/admin/trends/tags/{item_id:id}/reject", summary="Never let it trend")
async def review_tag(
    item_id: PathId, request: Request, caller: AdminWrite, uow: UowDep, settings: SettingsDep
) -> entities.AdminTag:
    await _review(caller, uow, request, service.TAG, item_id)
    [tag] = await service.admin_tags(uow, settings, caller.account_id, [item_id])
    return tag


@router.post("/api/v1/admin/trends/statuses/{item_id:id}/approve", summary="Let a post trend")
@router.post("/api/v1/admin/trends/statuses/{item_id:id}/reject", summary="Never let it trend")
async def review_status(
    item_id: PathId, request: Request, caller: AdminWrite, uow: UowDep, settings: SettingsDep
) -> entities.Status:
    await _review(caller, uow, request, service.STATUS, item_id)
    statuses = await service.statuses_by_id(uow, [item_id], caller.account_id)
    [status] = await status_entities(uow.session, statuses, caller.account_id, settings)
    return status


@router.post("/api/v1/admin/trends/links/{item_id:id}/approve", summary="Let a link trend")
@router.post("/api/v1/admin/trends/links/{item_id:id}/reject", summary="Never let it trend")
async def review_link(
    item_id: PathId, request: Request, caller: AdminWrite, uow: UowDep, settings: SettingsDep
) -> entities.AdminTrendsLink:
    await _review(caller, uow, request, service.LINK, item_id)
    [link] = await service.admin_links(uow, settings, [item_id])
    return link
