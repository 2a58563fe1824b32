"""`GET /api/v1/timelines/for_you` (ConnectHub's extension, behind the `for_you` flag): a
ranked timeline in Mastodon's timeline shape, each Status carrying `for_you`, why it is
there (docs/explore.md)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.clock import utcnow
from connecthub.errors import NotFound
from connecthub.explore import foryou
from connecthub.flags.deps import FeaturesDep
from connecthub.http.auth import Caller, require
from connecthub.http.deps import SettingsDep, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import PageDep, link_header
from connecthub.statuses.entity_bytes import status_page

router = APIRouter(tags=["timelines"], route_class=EntityRoute)

ReadStatuses = Annotated[Caller, Depends(require("read:statuses"))]


@router.get(
    "/api/v1/timelines/for_you",
    response_model=list[entities.ForYouStatus],
    summary='The "For you" timeline: posts ranked for me, each saying why (extension)',
)
async def for_you(
    request: Request,
    page: PageDep,
    caller: ReadStatuses,
    features: FeaturesDep,
    uow: UowDep,
    settings: SettingsDep,
) -> Response:
    if not features.enabled(foryou.FLAG):
        raise NotFound()  # not rolled out to this account: as if it did not exist
    found = await foryou.page(uow, settings, caller.account_id, page, utcnow())
    rendered = orjson.loads(
        await status_page(uow.session, found.statuses, caller.account_id, settings, context="home")
    )
    for status in rendered:
        status["for_you"] = found.ranked[int(status["id"])].explanation()
    link = link_header(request, found.newest_id, found.last_id)
    return Response(
        orjson.dumps(rendered),
        media_type="application/json",
        headers={"Link": link} if link else None,
    )
