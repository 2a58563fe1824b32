"""Feature flags over HTTP (ConnectHub extensions): the admin API under
`/api/v1/admin/flags` (read: `admin:read`, moderators and admins; write: `admin:write`,
admins), and `GET /api/v1/flags`, the evaluated values the web app reads for the
signed-in account (never the rules). Handlers parse, call the service, serialize."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from connecthub import entities
from connecthub.errors import ValidationFailed
from connecthub.flags import service
from connecthub.flags.deps import FeaturesDep, flags_of
from connecthub.flags.serializers import (
    ExperimentReadout,
    FeatureFlagEntity,
    FlagValue,
    flag_entity,
    readout_entity,
)
from connecthub.flags.service import Actor
from connecthub.http.auth import Caller, require
from connecthub.http.deps import UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.params import read_params

router = APIRouter(tags=["connecthub"], route_class=EntityRoute)

Reader = Annotated[Caller, Depends(require("admin:read"))]
Writer = Annotated[Caller, Depends(require("admin:write"))]
Viewer = Annotated[Caller, Depends(require("read"))]

_WHO_READS = " Needs `admin:read` and a moderator or admin (403 otherwise)."
_WHO_WRITES = " Needs `admin:write` and an admin (403 otherwise); written to the audit log."


def _actor(caller: Caller) -> Actor:
    return Actor.account(caller.account_id, caller.token.role)


async def _body(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    if not isinstance(params, dict):
        raise ValidationFailed("body", "must be a JSON object")
    return params


@router.get(
    "/api/v1/flags",
    summary="Feature flags evaluated for the signed-in account (the web app's)",
    description=(
        "The values of the flags marked `client_visible`, evaluated for the caller (account, "
        'role, the first Accept-Language language): `{"key": value}`. Never the rules. '
        "Needs `read`."
    ),
)
async def evaluated_flags(
    caller: Viewer, request: Request, features: FeaturesDep
) -> dict[str, FlagValue]:
    return service.visible_values(flags_of(request).store, features)


@router.get(
    "/api/v1/admin/flags",
    summary="List feature flags",
    description="Every flag with its rules, by key." + _WHO_READS,
)
async def list_flags(caller: Reader, uow: UowDep) -> list[FeatureFlagEntity]:
    return [flag_entity(f) for f in await service.list_flags(uow.session, _actor(caller))]


@router.post(
    "/api/v1/admin/flags",
    summary="Create a feature flag",
    description=(
        "JSON body: `key`, `kind` (boolean, string, number, json), `default_value`, and "
        "optionally `description`, `enabled` (the kill switch; default true), "
        "`client_visible`, `rules` and `experiment` (docs/flags.md). 422 names the field "
        "at fault; 409 when the key exists." + _WHO_WRITES
    ),
)
async def create_flag(caller: Writer, request: Request, uow: UowDep) -> FeatureFlagEntity:
    flag = await service.create_flag(
        uow, flags_of(request).store, _actor(caller), await _body(request)
    )
    return flag_entity(flag)


@router.get(
    "/api/v1/admin/flags/{key}",
    summary="One feature flag",
    description=_WHO_READS.strip(),
)
async def show_flag(key: str, caller: Reader, uow: UowDep) -> FeatureFlagEntity:
    return flag_entity(await service.get_flag(uow.session, _actor(caller), key))


@router.patch(
    "/api/v1/admin/flags/{key}",
    summary="Change a feature flag",
    description=(
        "Any of `description`, `enabled`, `default_value`, `client_visible`, `rules`, "
        "`experiment` (null removes it); the rest stays. Every process serves the change "
        "within a second." + _WHO_WRITES
    ),
)
async def update_flag(key: str, caller: Writer, request: Request, uow: UowDep) -> FeatureFlagEntity:
    flag = await service.update_flag(
        uow, flags_of(request).store, _actor(caller), key, await _body(request)
    )
    return flag_entity(flag)


@router.post(
    "/api/v1/admin/flags/{key}/kill",
    summary="The kill switch: everyone gets the default value",
    description=_WHO_WRITES.strip(),
)
async def kill_flag(key: str, caller: Writer, request: Request, uow: UowDep) -> FeatureFlagEntity:
    store = flags_of(request).store
    return flag_entity(await service.set_enabled(uow, store, _actor(caller), key, False))


@router.post(
    "/api/v1/admin/flags/{key}/enable",
    summary="Undo the kill switch: the rules apply again",
    description=_WHO_WRITES.strip(),
)
async def enable_flag(key: str, caller: Writer, request: Request, uow: UowDep) -> FeatureFlagEntity:
    store = flags_of(request).store
    return flag_entity(await service.set_enabled(uow, store, _actor(caller), key, True))


@router.post(
    "/api/v1/admin/flags/{key}/rollout",
    summary="Widen, hold or roll back a percentage rollout",
    description=(
        "`percentage` (0-100) for the rule named `rule`, or the flag's one percentage rule "
        "(a boolean flag without one gets a rule serving true). Accounts already in stay in "
        "as it grows." + _WHO_WRITES
    ),
)
async def rollout_flag(
    key: str, caller: Writer, request: Request, uow: UowDep
) -> FeatureFlagEntity:
    body = await _body(request)
    rule = body.get("rule")
    if rule is not None and not isinstance(rule, str):
        raise ValidationFailed("rule", "must be a rule's name")
    if "percentage" not in body:
        raise ValidationFailed("percentage", "is required")
    percentage = body["percentage"]
    if isinstance(percentage, str):  # a form or query parameter
        try:
            percentage = float(percentage)
        except ValueError:
            raise ValidationFailed("percentage", "must be a number from 0 to 100") from None
    flag = await service.set_rollout(
        uow, flags_of(request).store, _actor(caller), key, percentage, rule
    )
    return flag_entity(flag)


@router.delete(
    "/api/v1/admin/flags/{key}",
    summary="Delete a feature flag (and its experiment's exposures)",
    description=_WHO_WRITES.strip(),
)
async def delete_flag(key: str, caller: Writer, request: Request, uow: UowDep) -> entities.Empty:
    await service.delete_flag(uow, flags_of(request).store, _actor(caller), key)
    return {}


@router.get(
    "/api/v1/admin/flags/{key}/readout",
    summary="An experiment's readout",
    description=(
        "Per variant: exposures (accounts, each once) and the goal metric; each variant's "
        "difference from the first with a 95 % confidence interval; `winner` only when every "
        "variant has `min_sample` exposures and an interval excludes zero (`verdict`)." + _WHO_READS
    ),
)
async def experiment_readout(key: str, caller: Reader, uow: UowDep) -> ExperimentReadout:
    return readout_entity(key, await service.readout(uow.session, _actor(caller), key))
