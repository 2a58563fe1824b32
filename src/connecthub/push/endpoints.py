"""`/api/v1/push/subscription`: the caller's access token's push subscription (scope
`push`). Handlers parse, call the service, serialize."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from connecthub import entities
from connecthub.errors import Unauthorized
from connecthub.http.auth import Caller, bearer_token, require
from connecthub.http.deps import UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.params import read_params
from connecthub.push import schemas, service

router = APIRouter(tags=["push"], route_class=EntityRoute)

Push = Annotated[Caller, Depends(require("push"))]
PATH = "/api/v1/push/subscription"


@router.post(PATH, summary="Subscribe this token to Web Push (replaces its subscription)")
async def subscribe(request: Request, caller: Push, uow: UowDep) -> entities.WebPushSubscription:
    params = await read_params(request)
    subscription = schemas.subscription(params)
    data = schemas.data(params)
    access_token = bearer_token(request.scope)
    if access_token is None:  # `require` resolved one
        raise Unauthorized()
    return await service.subscribe(
        uow,
        account_id=caller.account_id,
        token_id=caller.token.token_id,
        access_token=access_token,
        subscription=subscription,
        data=data,
    )


@router.get(PATH, summary="This token's push subscription")
async def get_subscription(caller: Push, uow: UowDep) -> entities.WebPushSubscription:
    return await service.get(uow, caller.token.token_id)


@router.put(PATH, summary="Change what this token's push subscription receives")
async def update(request: Request, caller: Push, uow: UowDep) -> entities.WebPushSubscription:
    data = schemas.data(await read_params(request))
    return await service.update(uow, caller.token.token_id, data)


@router.delete(PATH, summary="Remove this token's push subscription")
async def unsubscribe(caller: Push, uow: UowDep) -> entities.Empty:
    await service.unsubscribe(uow, caller.token.token_id)
    return {}
