"""Hashtag routes (Mastodon's `/api/v1/tags/:name`, follow / unfollow, `/api/v1/followed_tags`).
Handlers parse, call `statuses.tags`, serialize."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.core.pagination import Page
from connecthub.http.auth import Caller, OptionalToken, require
from connecthub.http.deps import UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import link_header, page_params_within
from connecthub.http.responses import EntityResponse
from connecthub.statuses import tags

router = APIRouter(tags=["tags"], route_class=EntityRoute)

WriteFollows = Annotated[Caller, Depends(require("write:follows"))]
ReadFollows = Annotated[Caller, Depends(require("read:follows"))]
FollowedPage = Annotated[
    Page, Depends(page_params_within(tags.FOLLOWED_DEFAULT_LIMIT, tags.FOLLOWED_MAX_LIMIT))
]


@router.get("/api/v1/tags/{name}", summary="A hashtag, its use over seven days")
async def show_tag(name: str, token: OptionalToken, uow: UowDep) -> entities.TagDetails:
    viewer_id = token.account_id if token else None
    return await tags.show(uow, viewer_id, name)


@router.post("/api/v1/tags/{name}/follow", summary="Follow a hashtag (its posts join home)")
async def follow_tag(name: str, caller: WriteFollows, uow: UowDep) -> entities.TagDetails:
    return await tags.follow(uow, caller.account_id, name)


@router.post("/api/v1/tags/{name}/unfollow", summary="Stop following a hashtag")
async def unfollow_tag(name: str, caller: WriteFollows, uow: UowDep) -> entities.TagDetails:
    return await tags.unfollow(uow, caller.account_id, name)


@router.get(
    "/api/v1/followed_tags",
    response_model=list[entities.TagDetails],
    summary="The hashtags I follow (Link header pages by follow)",
)
async def followed_tags(
    request: Request, page: FollowedPage, caller: ReadFollows, uow: UowDep
) -> Response:
    cursor, found = await tags.followed(uow, caller.account_id, page)
    link = link_header(request, cursor[0], cursor[-1]) if cursor else None
    return EntityResponse(found, headers={"Link": link} if link else None)
