"""Lists (`/api/v1/lists`): an owner's named groups of followed accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.accounts.serializers import account_entity
from connecthub.core.pagination import Page
from connecthub.core.params import boolean, text
from connecthub.emojis import service as emojis
from connecthub.errors import ValidationFailed
from connecthub.http.auth import Caller, require
from connecthub.http.deps import PathId, SettingsDep, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import link_header, page_params
from connecthub.http.params import read_params
from connecthub.ids import parse_id
from connecthub.timelines import service
from connecthub.timelines.serializers import list_entity

router = APIRouter(tags=["timelines"], route_class=EntityRoute)

ReadLists = Annotated[Caller, Depends(require("read:lists"))]
WriteLists = Annotated[Caller, Depends(require("write:lists"))]
MAX_IDS = 250


def _account_ids(values: dict[str, Any]) -> list[int]:
    raw = values.get("account_ids")
    items = raw if isinstance(raw, list) else [] if raw is None else [raw]
    if not items:
        raise ValidationFailed("account_ids", "give at least one account id")
    if len(items) > MAX_IDS:
        raise ValidationFailed("account_ids", f"at most {MAX_IDS} ids")
    ids = [parse_id(item) for item in items]
    if None in ids:
        raise ValidationFailed("account_ids", "must be numeric ids")
    return [number for number in ids if number is not None]


def _policy(values: dict[str, Any]) -> str | None:
    policy = values.get("replies_policy")
    return None if policy in (None, "") else str(policy)


@router.get("/api/v1/lists", summary="My lists")
async def lists(caller: ReadLists, uow: UowDep) -> list[entities.List]:
    return [list_entity(lst) for lst in await service.lists_of(uow, caller.account_id)]


@router.post("/api/v1/lists", summary="Create a list")
async def create_list(request: Request, caller: WriteLists, uow: UowDep) -> entities.List:
    values = await read_params(request)
    lst = await service.create_list(
        uow,
        caller.account_id,
        title=text(values, "title", required=True),
        replies_policy=_policy(values),
        exclusive=bool(boolean(values, "exclusive", default=False)),
    )
    return list_entity(lst)


@router.get("/api/v1/lists/{list_id}", summary="One of my lists")
async def get_list(list_id: PathId, caller: ReadLists, uow: UowDep) -> entities.List:
    return list_entity(await service.access_list(uow, caller.account_id, list_id))


@router.put("/api/v1/lists/{list_id}", summary="Rename a list or change its policies")
async def update_list(
    list_id: PathId, request: Request, caller: WriteLists, uow: UowDep
) -> entities.List:
    lst = await service.access_list(uow, caller.account_id, list_id)
    values = await read_params(request)
    title = text(values, "title") if "title" in values else None
    if title == "":
        raise ValidationFailed("title", "can't be blank")
    lst = await service.update_list(
        uow,
        lst,
        title=title,
        replies_policy=_policy(values),
        exclusive=boolean(values, "exclusive"),
    )
    return list_entity(lst)


@router.delete("/api/v1/lists/{list_id}", summary="Delete a list")
async def delete_list(list_id: PathId, caller: WriteLists, uow: UowDep) -> entities.Empty:
    await service.delete_list(uow, await service.access_list(uow, caller.account_id, list_id))
    return {}


# `limit=0` asks for every member without pagination (Mastodon's); this many at most.
ALL_MEMBERS = 5000


async def _members_page(request: Request) -> tuple[Page, bool]:
    """The page of members asked for, and whether it is `limit=0` (all of them)."""
    query = request.query_params
    if query.get("limit") == "0":
        return Page(limit=ALL_MEMBERS), True
    page = await page_params(
        query.get("max_id"), query.get("since_id"), query.get("min_id"), query.get("limit")
    )
    return page, False


@router.get(
    "/api/v1/lists/{list_id}/accounts",
    summary="Accounts in a list (`limit=0`: all of them, unpaginated, as Mastodon)",
)
async def list_accounts(
    list_id: PathId,
    request: Request,
    response: Response,
    caller: ReadLists,
    uow: UowDep,
    settings: SettingsDep,
) -> list[entities.Account]:
    lst = await service.access_list(uow, caller.account_id, list_id)
    page, everyone = await _members_page(request)
    rows = await service.members(uow, lst, page)
    if rows and not everyone:
        link = link_header(request, rows[0][0], rows[-1][0])
        if link:
            response.headers["Link"] = link
    used = await emojis.of_profiles(uow.session, settings, [account for _, account in rows])
    return [account_entity(settings, account, None, used) for _membership, account in rows]


@router.post("/api/v1/lists/{list_id}/accounts", summary="Add followed accounts to a list")
async def add_accounts(
    list_id: PathId, request: Request, caller: WriteLists, uow: UowDep
) -> entities.Empty:
    lst = await service.access_list(uow, caller.account_id, list_id)
    await service.add_members(uow, lst, _account_ids(await read_params(request)))
    return {}


@router.delete("/api/v1/lists/{list_id}/accounts", summary="Remove accounts from a list")
async def remove_accounts(
    list_id: PathId, request: Request, caller: WriteLists, uow: UowDep
) -> entities.Empty:
    lst = await service.access_list(uow, caller.account_id, list_id)
    await service.remove_members(uow, lst, _account_ids(await read_params(request)))
    return {}


@router.get("/api/v1/accounts/{account_id}/lists", summary="My lists that hold an account")
async def lists_with_account(
    account_id: PathId, caller: ReadLists, uow: UowDep
) -> list[entities.List]:
    found = await service.lists_containing(uow, caller.account_id, account_id)
    return [list_entity(lst) for lst in found]
