"""ConnectHub's presence extension over REST (tag `connecthub` in the OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from connecthub.core.params import boolean
from connecthub.errors import ValidationFailed
from connecthub.http.auth import Caller, require
from connecthub.http.deps import UowDep, path_id
from connecthub.http.params import read_params
from connecthub.streaming.hub import StreamingHub

router = APIRouter(tags=["connecthub"])

ReadFollows = Annotated[Caller, Depends(require("read:follows"))]
ReadAccounts = Annotated[Caller, Depends(require("read:accounts"))]
WriteAccounts = Annotated[Caller, Depends(require("write:accounts"))]
WriteConversations = Annotated[Caller, Depends(require("write:conversations"))]


class OnlineAccount(BaseModel):
    account_id: str
    online: bool = True


class PresenceSettings(BaseModel):
    hide_presence: bool


class Typing(BaseModel):
    conversation_id: str
    expires_at: str


def _hub(request: Request) -> StreamingHub:
    hub: StreamingHub = request.app.state.streaming
    return hub


@router.get(
    "/api/v1/connecthub/presence",
    response_model=list[OnlineAccount],
    summary="Which of the accounts I follow are online now",
    description=(
        "Accounts the caller follows that hold at least one streaming connection, except "
        "those that hide their presence. Changes arrive as `presence` events on the user "
        'stream: `{"account_id": "…", "online": true|false}`.'
    ),
)
async def online_followed(request: Request, caller: ReadFollows) -> list[dict[str, Any]]:
    online = await _hub(request).presence.online_followed(caller.account_id)
    return [{"account_id": str(account_id), "online": True} for account_id in online]


@router.get(
    "/api/v1/connecthub/presence_settings",
    response_model=PresenceSettings,
    summary="My presence privacy setting",
)
async def presence_settings(request: Request, caller: ReadAccounts, uow: UowDep) -> dict[str, Any]:
    hidden = await _hub(request).presence.is_hidden(uow, caller.account_id)
    return {"hide_presence": hidden}


@router.patch(
    "/api/v1/connecthub/presence_settings",
    response_model=PresenceSettings,
    summary="Hide or show my presence",
    description=(
        "`hide_presence` (boolean): when true, nobody sees me online, gets `presence` "
        "events about me, or sees me typing."
    ),
)
async def update_presence_settings(
    request: Request, caller: WriteAccounts, uow: UowDep
) -> dict[str, Any]:
    params = await read_params(request)
    if "hide_presence" not in params:
        raise ValidationFailed("hide_presence", "is required")
    hidden = boolean(params, "hide_presence")
    if hidden is None:
        raise ValidationFailed("hide_presence", "must be true or false")
    await _hub(request).presence.set_hidden(uow, caller.account_id, hidden)
    return {"hide_presence": hidden}


@router.post(
    "/api/v1/connecthub/conversations/{conversation_id}/typing",
    response_model=Typing,
    summary="Tell a direct conversation's other participants that I am typing",
    description=(
        "Sends a `typing` event to the other participants' user streams: "
        '`{"conversation_id": "<their conversation id>", "account_id": "…", "typing": true, '
        '"expires_in": 6}`. The indicator expires after `expires_in` seconds unless sent '
        "again, and a `typing: false` event follows if my last connection drops first."
    ),
)
async def typing(
    request: Request, conversation_id: str, caller: WriteConversations, uow: UowDep
) -> dict[str, Any]:
    return await _hub(request).presence.typing(uow, caller.account_id, path_id(conversation_id))
