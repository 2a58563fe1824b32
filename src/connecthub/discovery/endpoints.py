"""Search routes, in Mastodon's shapes (`/api/v2/search`, `/api/v1/accounts/search`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from connecthub import entities
from connecthub.accounts.serializers import account_entity
from connecthub.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from connecthub.core.params import boolean
from connecthub.discovery import service
from connecthub.emojis import service as emojis
from connecthub.errors import ValidationFailed
from connecthub.flags.deps import FeaturesDep
from connecthub.http.auth import Caller, require
from connecthub.http.deps import NumberParam, SettingsDep, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.statuses import tags as tags_service

router = APIRouter(tags=["search"], route_class=EntityRoute)

ReadSearch = Annotated[Caller, Depends(require("read:search"))]
ReadAccounts = Annotated[Caller, Depends(require("read:accounts"))]
# Mastodon's account lists: 40 by default, at most twice that.
ACCOUNTS_LIMIT = 40
MAX_ACCOUNTS_LIMIT = 80


def _flag(request: Request, name: str) -> bool:
    """A boolean query parameter (422 naming it when it is not one), false when absent."""
    return bool(boolean(dict(request.query_params), name, default=False))


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
    request: Request,
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
        following=_flag(request, "following"),
    )
    used = await emojis.of_profiles(uow.session, settings, accounts)
    tags = await service.search_hashtags(
        uow,
        q,
        kind=kind,
        enabled=features.enabled(service.HASHTAG_SEARCH_FLAG),
        limit=min(limit, MAX_LIMIT),
        offset=offset,
    )
    return {
        "accounts": [account_entity(settings, account, None, used) for account in accounts],
        "statuses": [],
        "hashtags": await tags_service.tag_entities(uow, tags, caller.account_id),
    }


@router.get(
    "/api/v1/accounts/search",
    summary="Search accounts by username (the same search as /api/v2/search's accounts)",
    description=(
        "`following`: only accounts I follow; `followers`: only accounts following me. "
        "`resolve` is accepted and changes nothing: there are no other servers to ask."
    ),
)
async def search_accounts(
    request: Request,
    caller: ReadAccounts,
    uow: UowDep,
    settings: SettingsDep,
    q: Annotated[str, Query(max_length=500)] = "",
    limit: Annotated[NumberParam, Query(ge=1)] = ACCOUNTS_LIMIT,
    offset: Annotated[NumberParam, Query(ge=0)] = 0,
) -> list[entities.Account]:
    _flag(request, "resolve")  # checked, as every input is
    if not q.strip():
        return []  # as Mastodon: no query, no accounts
    accounts = await service.search_accounts(
        uow,
        caller.account_id,
        q,
        kind="accounts",
        local_domain=settings.local_domain,
        limit=min(limit, MAX_ACCOUNTS_LIMIT),
        offset=offset,
        following=_flag(request, "following"),
        followers=_flag(request, "followers"),
    )
    used = await emojis.of_profiles(uow.session, settings, accounts)
    return [account_entity(settings, account, None, used) for account in accounts]
