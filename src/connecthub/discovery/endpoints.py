"""Search route, in Mastodon's shape (`/api/v2/search`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from connecthub import entities
from connecthub.accounts.serializers import account_entity
from connecthub.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from connecthub.discovery import service
from connecthub.errors import ValidationFailed
from connecthub.flags.deps import FeaturesDep
from connecthub.http.auth import Caller, require
from connecthub.http.deps import NumberParam, SettingsDep, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.statuses.serializers import hashtag_entity

router = APIRouter(tags=["search"], route_class=EntityRoute)

ReadSearch = Annotated[Caller, Depends(require("read:search"))]


@router.get(
    "/api/v2/search",
    summary="Search accounts and hashtags (statuses: not yet)",
    description=(
        "Accounts by username prefix; hashtags by name prefix for the accounts the "
        "`search_hashtags` feature flag is on for (otherwise `hashtags` is empty)."
    ),
)
async def search(
    caller: ReadSearch,
    uow: UowDep,
    settings: SettingsDep,
    features: FeaturesDep,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    kind: Annotated[str | None, Query(alias="type")] = None,
    limit: Annotated[NumberParam, Query(ge=1)] = DEFAULT_LIMIT,
    offset: Annotated[NumberParam, Query(ge=0)] = 0,
) -> entities.Search:
    kind = kind or None
    if kind is not None and kind not in service.TYPES:
        raise ValidationFailed("type", f"must be one of {', '.join(service.TYPES)}")
    accounts = await service.search_accounts(
        uow,
        caller.account_id,
        q,
        kind=kind,
        local_domain=settings.local_domain,
        limit=min(limit, MAX_LIMIT),
        offset=offset,
    )
    tags = await service.search_hashtags(
        uow,
        q,
        kind=kind,
        enabled=features.enabled(service.HASHTAG_SEARCH_FLAG),
        limit=min(limit, MAX_LIMIT),
        offset=offset,
    )
    return {
        "accounts": [account_entity(settings, account) for account in accounts],
        "statuses": [],
        "hashtags": [hashtag_entity(settings, tag) for tag in tags],
    }
