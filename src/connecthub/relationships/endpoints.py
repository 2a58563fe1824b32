"""Follow, block and mute routes, follow requests, private notes, endorsements, and the
lists they make (Mastodon API)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.accounts.models import Account
from connecthub.accounts.serializers import account_entity
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.core.params import text
from connecthub.emojis import service as emojis
from connecthub.http.auth import Caller, OptionalToken, require
from connecthub.http.deps import PathId, SettingsDep, UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import PageDep, link_header
from connecthub.http.params import read_params
from connecthub.infra.uow import UnitOfWork
from connecthub.relationships import schemas, service
from connecthub.relationships.models import AccountPin, Block, Follow, FollowRequest
from connecthub.relationships.serializers import relationship_entities

router = APIRouter(tags=["accounts"], route_class=EntityRoute)

ReadFollows = Annotated[Caller, Depends(require("read:follows"))]
WriteFollows = Annotated[Caller, Depends(require("write:follows"))]
ReadBlocks = Annotated[Caller, Depends(require("read:blocks"))]
WriteBlocks = Annotated[Caller, Depends(require("write:blocks"))]
ReadMutes = Annotated[Caller, Depends(require("read:mutes"))]
WriteMutes = Annotated[Caller, Depends(require("write:mutes"))]
ReadAccounts = Annotated[Caller, Depends(require("read:accounts"))]
WriteAccounts = Annotated[Caller, Depends(require("write:accounts"))]
Change = Callable[[UnitOfWork, int, int], Awaitable[None]]
# (edge table, the column naming the list's owner, the column naming the listed account)
ListedEdge = tuple[Any, Any, Any]
# An account's endorsements: the pins it owns, listing the accounts pinned.
_ENDORSED: ListedEdge = (AccountPin, AccountPin.account_id, AccountPin.target_account_id)


async def _relationship(uow: UnitOfWork, viewer_id: int, account_id: int) -> entities.Relationship:
    await uow.session.flush()
    return (await relationship_entities(uow.session, viewer_id, [account_id]))[0]


async def _change(
    uow: UnitOfWork, caller: Caller, account_id: int, action: Change
) -> entities.Relationship:
    await action(uow, caller.account_id, account_id)
    return await _relationship(uow, caller.account_id, account_id)


@router.post("/api/v1/accounts/{account_id:id}/follow", summary="Follow an account")
async def follow(
    account_id: PathId, request: Request, caller: WriteFollows, uow: UowDep
) -> entities.Relationship:
    options = await schemas.follow_options(request)
    await service.follow(uow, caller.account_id, account_id, options)
    return await _relationship(uow, caller.account_id, account_id)


@router.post("/api/v1/accounts/{account_id:id}/unfollow", summary="Unfollow an account")
async def unfollow(account_id: PathId, caller: WriteFollows, uow: UowDep) -> entities.Relationship:
    return await _change(uow, caller, account_id, service.unfollow)


@router.post("/api/v1/accounts/{account_id:id}/block", summary="Block an account")
async def block(account_id: PathId, caller: WriteBlocks, uow: UowDep) -> entities.Relationship:
    return await _change(uow, caller, account_id, service.block)


@router.post("/api/v1/accounts/{account_id:id}/unblock", summary="Unblock an account")
async def unblock(account_id: PathId, caller: WriteBlocks, uow: UowDep) -> entities.Relationship:
    return await _change(uow, caller, account_id, service.unblock)


@router.post("/api/v1/accounts/{account_id:id}/mute", summary="Mute an account")
async def mute(
    account_id: PathId, request: Request, caller: WriteMutes, uow: UowDep
) -> entities.Relationship:
    hide, duration = await schemas.mute_options(request)
    await service.mute(uow, caller.account_id, account_id, notifications=hide, duration=duration)
    return await _relationship(uow, caller.account_id, account_id)


@router.post("/api/v1/accounts/{account_id:id}/unmute", summary="Unmute an account")
async def unmute(account_id: PathId, caller: WriteMutes, uow: UowDep) -> entities.Relationship:
    return await _change(uow, caller, account_id, service.unmute)


@router.post(
    "/api/v1/accounts/{account_id:id}/remove_from_followers",
    summary="Make an account stop following me",
)
async def remove_from_followers(
    account_id: PathId, caller: WriteFollows, uow: UowDep
) -> entities.Relationship:
    return await _change(uow, caller, account_id, service.remove_from_followers)


@router.post(
    "/api/v1/accounts/{account_id:id}/note",
    summary="Set my private note about an account (an empty comment removes it)",
)
async def note(
    account_id: PathId, request: Request, caller: WriteAccounts, uow: UowDep
) -> entities.Relationship:
    comment = text(await read_params(request), "comment")
    await service.set_note(uow, caller.account_id, account_id, comment)
    return await _relationship(uow, caller.account_id, account_id)


async def _endorse(account_id: PathId, caller: WriteAccounts, uow: UowDep) -> entities.Relationship:
    return await _change(uow, caller, account_id, service.endorse)


async def _unendorse(
    account_id: PathId, caller: WriteAccounts, uow: UowDep
) -> entities.Relationship:
    return await _change(uow, caller, account_id, service.unendorse)


# `pin` / `unpin` are the names Mastodon had before `endorse` / `unendorse`; both answer.
for _verb, _handler, _summary in (
    ("endorse", _endorse, "Endorse (feature on my profile) an account I follow"),
    ("pin", _endorse, "Endorse an account (the older name of `endorse`)"),
    ("unendorse", _unendorse, "Stop endorsing an account"),
    ("unpin", _unendorse, "Stop endorsing an account (the older name of `unendorse`)"),
):
    router.post(
        f"/api/v1/accounts/{{account_id:id}}/{_verb}",
        summary=_summary,
        operation_id=f"{_verb}_account",
    )(_handler)


@router.get("/api/v1/accounts/relationships", summary="Relationships with several accounts")
async def relationships(
    request: Request, caller: ReadFollows, uow: UowDep
) -> list[entities.Relationship]:
    """Unknown (and, unless `with_suspended=true`, suspended) accounts are left out."""
    ids = schemas.account_ids(request)
    with_suspended = request.query_params.get("with_suspended", "").lower() in ("true", "1")
    known = await service.existing_account_ids(uow, ids, with_suspended=with_suspended)
    wanted = [account_id for account_id in ids if account_id in known]
    return await relationship_entities(uow.session, caller.account_id, wanted)


@router.get(
    "/api/v1/accounts/familiar_followers",
    summary="Accounts I follow that follow each given account",
)
async def familiar_followers(
    request: Request, caller: ReadFollows, uow: UowDep, settings: SettingsDep
) -> list[entities.FamiliarFollowers]:
    ids = schemas.account_ids(request)
    found = await service.familiar_followers(uow, caller.account_id, ids)
    used = await emojis.of_profiles(uow.session, settings, [a for f in found.values() for a in f])
    return [
        {
            "id": str(account_id),
            "accounts": [account_entity(settings, a, None, used) for a in found[account_id]],
        }
        for account_id in ids
    ]


def _with_link(
    request: Request, response: Response, rows: list[tuple[int, Any]]
) -> list[tuple[int, Any]]:
    if rows:
        link = link_header(request, rows[0][0], rows[-1][0])
        if link:
            response.headers["Link"] = link
    return rows


async def _listed_accounts(
    request: Request,
    response: Response,
    page: PageDep,
    uow: UnitOfWork,
    settings: Settings,
    edge: ListedEdge,
    owner_id: int,
) -> list[entities.Account]:
    """One page of the accounts at the far end of `edge` rows owned by `owner_id`,
    paginated by the edge row's id."""
    model, owner_column, listed_column = edge
    rows = await service.accounts_page(
        uow,
        model,
        page,
        owner_column=owner_column,
        listed_column=listed_column,
        owner_id=owner_id,
    )
    accounts = [account for _, account in _with_link(request, response, rows)]
    used = await emojis.of_profiles(uow.session, settings, accounts)
    return [account_entity(settings, account, None, used) for account in accounts]


async def _public_list(
    request: Request,
    response: Response,
    page: PageDep,
    uow: UnitOfWork,
    settings: Settings,
    token: OptionalToken,
    edge: ListedEdge,
    account_id: int,
) -> list[entities.Account]:
    """Followers / following of an active account; empty for a viewer it blocks."""
    viewer_id = token.account_id if token else None
    if not await service.connections_visible(uow, account_id, viewer_id):
        return []
    return await _listed_accounts(request, response, page, uow, settings, edge, account_id)


@router.get("/api/v1/accounts/{account_id:id}/followers", summary="Who follows an account")
async def followers(
    account_id: PathId,
    request: Request,
    response: Response,
    page: PageDep,
    uow: UowDep,
    settings: SettingsDep,
    token: OptionalToken,
) -> list[entities.Account]:
    edge = (Follow, Follow.target_account_id, Follow.account_id)
    return await _public_list(request, response, page, uow, settings, token, edge, account_id)


@router.get("/api/v1/accounts/{account_id:id}/following", summary="Who an account follows")
async def following(
    account_id: PathId,
    request: Request,
    response: Response,
    page: PageDep,
    uow: UowDep,
    settings: SettingsDep,
    token: OptionalToken,
) -> list[entities.Account]:
    edge = (Follow, Follow.account_id, Follow.target_account_id)
    return await _public_list(request, response, page, uow, settings, token, edge, account_id)


@router.get("/api/v1/follow_requests", summary="Accounts asking to follow me")
async def follow_requests(
    request: Request,
    response: Response,
    page: PageDep,
    caller: ReadFollows,
    uow: UowDep,
    settings: SettingsDep,
) -> list[entities.Account]:
    edge = (FollowRequest, FollowRequest.target_account_id, FollowRequest.account_id)
    return await _listed_accounts(request, response, page, uow, settings, edge, caller.account_id)


@router.post("/api/v1/follow_requests/{account_id:id}/authorize", summary="Accept a follow request")
async def authorize(account_id: PathId, caller: WriteFollows, uow: UowDep) -> entities.Relationship:
    """`account_id` is the requesting account, as in Mastodon."""
    await service.authorize_request(uow, caller.account_id, account_id)
    return await _relationship(uow, caller.account_id, account_id)


@router.post("/api/v1/follow_requests/{account_id:id}/reject", summary="Refuse a follow request")
async def reject(account_id: PathId, caller: WriteFollows, uow: UowDep) -> entities.Relationship:
    await service.reject_request(uow, caller.account_id, account_id)
    return await _relationship(uow, caller.account_id, account_id)


@router.get("/api/v1/blocks", summary="Accounts I block")
async def blocks(
    request: Request,
    response: Response,
    page: PageDep,
    caller: ReadBlocks,
    uow: UowDep,
    settings: SettingsDep,
) -> list[entities.Account]:
    edge = (Block, Block.account_id, Block.target_account_id)
    return await _listed_accounts(request, response, page, uow, settings, edge, caller.account_id)


@router.get("/api/v1/mutes", summary="Accounts I mute (expired mutes left out)")
async def mutes(
    request: Request,
    response: Response,
    page: PageDep,
    caller: ReadMutes,
    uow: UowDep,
    settings: SettingsDep,
) -> list[entities.MutedAccount]:
    rows = await service.mutes_page(uow, caller.account_id, page)
    _with_link(request, response, [(mute.id, account) for mute, account in rows])
    used = await emojis.of_profiles(uow.session, settings, [account for _, account in rows])
    return [_muted_account(settings, account, mute.expires_at, used) for mute, account in rows]


def _muted_account(
    settings: Settings, account: Account, expires_at: Any, used: dict[str, entities.CustomEmoji]
) -> entities.MutedAccount:
    return {**account_entity(settings, account, None, used), "mute_expires_at": iso(expires_at)}


@router.get("/api/v1/endorsements", summary="Accounts I endorse")
async def endorsements(
    request: Request,
    response: Response,
    page: PageDep,
    caller: ReadAccounts,
    uow: UowDep,
    settings: SettingsDep,
) -> list[entities.Account]:
    return await _listed_accounts(
        request, response, page, uow, settings, _ENDORSED, caller.account_id
    )


@router.get(
    "/api/v1/accounts/{account_id:id}/endorsements",
    summary="Accounts an account endorses (public)",
)
async def account_endorsements(
    account_id: PathId,
    request: Request,
    response: Response,
    page: PageDep,
    uow: UowDep,
    settings: SettingsDep,
    token: OptionalToken,
) -> list[entities.Account]:
    return await _public_list(request, response, page, uow, settings, token, _ENDORSED, account_id)
