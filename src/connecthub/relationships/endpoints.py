"""Follow, block and mute routes, follow requests, and the lists they make (Mastodon API)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from connecthub.accounts import params
from connecthub.accounts.models import Account
from connecthub.accounts.serializers import account_entity
from connecthub.config import Settings
from connecthub.errors import ValidationFailed
from connecthub.http.auth import Caller, require
from connecthub.http.deps import SettingsDep, UowDep
from connecthub.http.pagination import PageDep, link_header
from connecthub.infra.uow import UnitOfWork
from connecthub.relationships import repository, service
from connecthub.relationships.models import Block, Follow, FollowRequest, Mute
from connecthub.relationships.serializers import relationship_entities

router = APIRouter(tags=["accounts"])

ReadFollows = Annotated[Caller, Depends(require("read:follows"))]
WriteFollows = Annotated[Caller, Depends(require("write:follows"))]
ReadBlocks = Annotated[Caller, Depends(require("read:blocks"))]
WriteBlocks = Annotated[Caller, Depends(require("write:blocks"))]
ReadMutes = Annotated[Caller, Depends(require("read:mutes"))]
WriteMutes = Annotated[Caller, Depends(require("write:mutes"))]
MAX_IDS = 40


def _account_ids(request: Request) -> list[int]:
    values = request.query_params.getlist("id[]") or request.query_params.getlist("id")
    if len(values) > MAX_IDS:
        raise ValidationFailed("id", f"at most {MAX_IDS} ids")
    ids = []
    for value in values:
        if not value.isdigit() or len(value) > 19:
            raise ValidationFailed("id", "must be numeric account ids")
        ids.append(int(value))
    return ids


async def _relationship(uow: UnitOfWork, viewer_id: int, account_id: int) -> dict[str, Any]:
    await uow.session.flush()
    return (await relationship_entities(uow.session, viewer_id, [account_id]))[0]


Change = Callable[[UnitOfWork, int, int], Awaitable[None]]
# (edge table, the column naming the list's owner, the column naming the listed account)
ListedEdge = tuple[Any, Any, Any]


async def _change(uow: UnitOfWork, caller: Caller, account_id: int, action: Change) -> Any:
    await action(uow, caller.account_id, account_id)
    return await _relationship(uow, caller.account_id, account_id)


@router.post("/api/v1/accounts/{account_id:int}/follow", summary="Follow an account")
async def follow(
    account_id: int, request: Request, caller: WriteFollows, uow: UowDep
) -> dict[str, Any]:
    values = await params.read_params(request)
    await service.follow(
        uow,
        caller.account_id,
        account_id,
        reblogs=params.boolean(values, "reblogs"),
        notify_posts=params.boolean(values, "notify"),
    )
    return await _relationship(uow, caller.account_id, account_id)


@router.post("/api/v1/accounts/{account_id:int}/unfollow", summary="Unfollow an account")
async def unfollow(account_id: int, caller: WriteFollows, uow: UowDep) -> dict[str, Any]:
    return await _change(uow, caller, account_id, service.unfollow)  # type: ignore[no-any-return]


@router.post("/api/v1/accounts/{account_id:int}/block", summary="Block an account")
async def block(account_id: int, caller: WriteBlocks, uow: UowDep) -> dict[str, Any]:
    return await _change(uow, caller, account_id, service.block)  # type: ignore[no-any-return]


@router.post("/api/v1/accounts/{account_id:int}/unblock", summary="Unblock an account")
async def unblock(account_id: int, caller: WriteBlocks, uow: UowDep) -> dict[str, Any]:
    return await _change(uow, caller, account_id, service.unblock)  # type: ignore[no-any-return]


@router.post("/api/v1/accounts/{account_id:int}/mute", summary="Mute an account")
async def mute(
    account_id: int, request: Request, caller: WriteMutes, uow: UowDep
) -> dict[str, Any]:
    values = await params.read_params(request)
    duration_text = params.text(values, "duration", default="0")
    if not duration_text.isdigit():
        raise ValidationFailed("duration", "must be a whole number of seconds")
    await service.mute(
        uow,
        caller.account_id,
        account_id,
        notifications=params.boolean(values, "notifications", default=True) is not False,
        duration=int(duration_text),
    )
    return await _relationship(uow, caller.account_id, account_id)


@router.post("/api/v1/accounts/{account_id:int}/unmute", summary="Unmute an account")
async def unmute(account_id: int, caller: WriteMutes, uow: UowDep) -> dict[str, Any]:
    return await _change(uow, caller, account_id, service.unmute)  # type: ignore[no-any-return]


@router.get("/api/v1/accounts/relationships", summary="Relationships with several accounts")
async def relationships(request: Request, caller: ReadFollows, uow: UowDep) -> list[Any]:
    return await relationship_entities(uow.session, caller.account_id, _account_ids(request))


@router.get(
    "/api/v1/accounts/familiar_followers",
    summary="Accounts I follow that follow each given account",
)
async def familiar_followers(
    request: Request, caller: ReadFollows, uow: UowDep, settings: SettingsDep
) -> list[dict[str, Any]]:
    result = []
    for account_id in _account_ids(request):
        accounts = await repository.familiar_followers(uow.session, caller.account_id, account_id)
        result.append(
            {"id": str(account_id), "accounts": [account_entity(settings, a) for a in accounts]}
        )
    return result


def _page_response(
    request: Request, response: Response, settings: Settings, rows: list[tuple[int, Account]]
) -> list[dict[str, Any]]:
    if rows:
        link = link_header(request, rows[0][0], rows[-1][0])
        if link:
            response.headers["Link"] = link
    return [account_entity(settings, account) for _, account in rows]


async def _listed_accounts(
    request: Request,
    response: Response,
    page: PageDep,
    uow: UnitOfWork,
    settings: Settings,
    edge: ListedEdge,
    owner_id: int,
) -> list[dict[str, Any]]:
    """One page of the accounts at the far end of `edge` rows owned by `owner_id`."""
    model, owner_column, listed_column = edge
    rows = await repository.accounts_page(
        uow.session,
        model,
        page,
        owner_column=owner_column,
        listed_column=listed_column,
        owner_id=owner_id,
    )
    return _page_response(request, response, settings, rows)


@router.get("/api/v1/accounts/{account_id:int}/followers", summary="Who follows an account")
async def followers(
    account_id: int,
    request: Request,
    response: Response,
    page: PageDep,
    uow: UowDep,
    settings: SettingsDep,
) -> list[dict[str, Any]]:
    edge = (Follow, Follow.target_account_id, Follow.account_id)
    return await _listed_accounts(request, response, page, uow, settings, edge, account_id)


@router.get("/api/v1/accounts/{account_id:int}/following", summary="Who an account follows")
async def following(
    account_id: int,
    request: Request,
    response: Response,
    page: PageDep,
    uow: UowDep,
    settings: SettingsDep,
) -> list[dict[str, Any]]:
    edge = (Follow, Follow.account_id, Follow.target_account_id)
    return await _listed_accounts(request, response, page, uow, settings, edge, account_id)


@router.get("/api/v1/follow_requests", summary="Accounts asking to follow me")
async def follow_requests(
    request: Request,
    response: Response,
    page: PageDep,
    caller: ReadFollows,
    uow: UowDep,
    settings: SettingsDep,
) -> list[dict[str, Any]]:
    edge = (FollowRequest, FollowRequest.target_account_id, FollowRequest.account_id)
    return await _listed_accounts(request, response, page, uow, settings, edge, caller.account_id)


@router.post(
    "/api/v1/follow_requests/{account_id:int}/authorize", summary="Accept a follow request"
)
async def authorize(account_id: int, caller: WriteFollows, uow: UowDep) -> dict[str, Any]:
    await service.authorize_request(uow, caller.account_id, account_id)
    return await _relationship(uow, caller.account_id, account_id)


@router.post("/api/v1/follow_requests/{account_id:int}/reject", summary="Refuse a follow request")
async def reject(account_id: int, caller: WriteFollows, uow: UowDep) -> dict[str, Any]:
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
) -> list[dict[str, Any]]:
    edge = (Block, Block.account_id, Block.target_account_id)
    return await _listed_accounts(request, response, page, uow, settings, edge, caller.account_id)


@router.get("/api/v1/mutes", summary="Accounts I mute")
async def mutes(
    request: Request,
    response: Response,
    page: PageDep,
    caller: ReadMutes,
    uow: UowDep,
    settings: SettingsDep,
) -> list[dict[str, Any]]:
    edge = (Mute, Mute.account_id, Mute.target_account_id)
    return await _listed_accounts(request, response, page, uow, settings, edge, caller.account_id)
