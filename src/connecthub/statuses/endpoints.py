"""Statuses API (Mastodon's `/api/v1/statuses`, bookmarks, favourites, polls and an
account's statuses). Handlers parse, call the service, serialize."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from connecthub.accounts.params import read_params
from connecthub.accounts.scopes import covers_any
from connecthub.errors import Forbidden
from connecthub.http.auth import Caller, OptionalToken, require
from connecthub.http.deps import SettingsDep, UowDep
from connecthub.statuses import service
from connecthub.statuses.schemas import status_draft
from connecthub.statuses.serializers import status_entity

router = APIRouter(tags=["statuses"])

WriteStatuses = Annotated[Caller, Depends(require("write:statuses"))]
ReadStatuses = Annotated[Caller, Depends(require("read:statuses"))]
WriteFavourites = Annotated[Caller, Depends(require("write:favourites"))]
WriteBookmarks = Annotated[Caller, Depends(require("write:bookmarks"))]
ReadBookmarks = Annotated[Caller, Depends(require("read:bookmarks"))]
ReadFavourites = Annotated[Caller, Depends(require("read:favourites"))]
WriteAccounts = Annotated[Caller, Depends(require("write:accounts"))]


def viewer(token: OptionalToken, *scopes: str) -> int | None:
    """The reading account (None: anonymous). A token that is present must carry a read
    scope, as Mastodon's `authorize_if_got_token!`."""
    if token is None:
        return None
    if not covers_any(token.scopes, scopes or ("read:statuses",)):
        raise Forbidden("This action is outside the authorized scopes")
    return token.account_id


@router.post("/api/v1/statuses", summary="Post a status (honours Idempotency-Key)")
async def post_status(
    request: Request, caller: WriteStatuses, uow: UowDep, settings: SettingsDep
) -> dict[str, Any]:
    draft = status_draft(await read_params(request))
    key = request.headers.get("idempotency-key", "").strip() or None
    status = await service.create_status(
        uow,
        settings,
        account_id=caller.account_id,
        draft=draft,
        application_id=caller.token.application_id,
        idempotency_key=key[:512] if key else None,
    )
    return await status_entity(uow.session, status, caller.account_id, settings)


__all__ = ["Response", "router"]
