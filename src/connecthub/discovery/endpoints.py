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
from connecthub.errors import Forbidden, Unauthorized, ValidationFailed
from connecthub.flags.deps import FeaturesDep
from connecthub.http.auth import Caller, OptionalToken, require
from connecthub.http.deps import NumberParam, SettingsDep, UowDep, param_id
from connecthub.http.entity_route import EntityRoute
from connecthub.oauth.identity import TokenInfo
from connecthub.oauth.scopes import covers_any
from connecthub.statuses import tags as tags_service
from connecthub.statuses.serializers import status_entities

router = APIRouter(tags=["search"], route_class=EntityRoute)

ReadAccounts = Annotated[Caller, Depends(require("read:accounts"))]
# Mastodon's account lists: 40 by default, at most twice that.
ACCOUNTS_LIMIT = 40
MAX_ACCOUNTS_LIMIT = 80


def _flag(request: Request, name: str) -> bool:
    """A boolean query parameter (422 naming it when it is not one), false when absent."""
    return bool(boolean(dict(request.query_params), name, default=False))


def _searcher(token: TokenInfo | None) -> int | None:
    """The signed-in account searching, or None. A token that is present must carry
    `read:search` (Mastodon's `authorize_if_got_token!`); an app token signs in no one."""
    if token is None:
        return None
    if not covers_any(token.scopes, ("read:search",)):
        raise Forbidden("This action is outside the authorized scopes")
    return token.account_id


def _optional_id(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    return None if value in (None, "") else param_id(name, value)


@router.get(
    "/api/v2/search",
    summary="Search accounts, statuses and hashtags",
    description=(
        "Accounts by username prefix (exact match, then followed, then recently active); "
        "statuses by full text with Mastodon's operators (`from:`, `has:`, `is:`, "
        "`language:`, `before:` / `after:` / `during:`, `in:`, `-` negation, quoted "
        "phrases), for signed-in callers, among their own, those they interacted with and "
        "public posts of accounts that opted in (`indexable`); hashtags by name prefix for "
        "the accounts the `search_hashtags` feature flag is on for (otherwise `hashtags` is "
        "empty). Without a token: no statuses, no `offset`, no `resolve`."
    ),
)
async def search(
    token: OptionalToken,
    uow: UowDep,
    settings: SettingsDep,
    features: FeaturesDep,
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    kind: Annotated[str | None, Query(alias="type")] = None,
    limit: Annotated[NumberParam, Query(ge=1)] = DEFAULT_LIMIT,
    offset: Annotated[NumberParam, Query(ge=0)] = 0,
) -> entities.Search:
    viewer_id = _searcher(token)
    kind = kind or None
    if kind is not None and kind not in service.TYPES:
        raise ValidationFailed("type", f"must be one of {', '.join(service.TYPES)}")
    resolve = _flag(request, "resolve")
    exclude_unreviewed = _flag(request, "exclude_unreviewed")
    following = _flag(request, "following")
    account_id = _optional_id(request, "account_id")
    min_id, max_id = _optional_id(request, "min_id"), _optional_id(request, "max_id")
    if viewer_id is None and request.query_params.get("offset"):
        raise Unauthorized("Search queries pagination is not supported without authentication")
    if viewer_id is None and resolve:
        raise Unauthorized(
            "Search queries that resolve remote resources are not supported without authentication"
        )
    limit = min(limit, MAX_LIMIT)
    offset = offset if kind is not None else 0  # as Mastodon: a page of one type only
    statuses = await service.search_statuses(
        uow,
        viewer_id,
        q,
        kind=kind,
        local_domain=settings.local_domain,
        account_id=account_id,
        min_id=min_id,
        max_id=max_id,
        limit=limit,
        offset=offset,
    )
    accounts = await service.search_accounts(
        uow,
        viewer_id,
        q,
        kind=kind,
        local_domain=settings.local_domain,
        limit=limit,
        offset=offset,
        following=following,
    )
    used = await emojis.of_profiles(uow.session, settings, accounts)
    tags = await service.search_hashtags(
        uow,
        q,
        kind=kind,
        enabled=features.enabled(service.HASHTAG_SEARCH_FLAG),
        limit=limit,
        offset=offset,
        exclude_unreviewed=exclude_unreviewed,
    )
    return {
        "accounts": [account_entity(settings, account, None, used) for account in accounts],
        "statuses": await status_entities(uow.session, statuses, viewer_id, settings),
        "hashtags": await tags_service.tag_entities(uow, tags, viewer_id),
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
