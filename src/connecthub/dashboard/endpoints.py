"""Mastodon's admin dashboard API: `POST /api/v1/admin/measures`, `/dimensions` and
`/retention` (scope admin:read, the View Dashboard permission). Handlers parse, call the
dashboard service, serialize."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from connecthub import entities
from connecthub.core.params import text
from connecthub.dashboard import service
from connecthub.errors import ValidationFailed
from connecthub.http.auth import Caller, require
from connecthub.http.deps import UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.params import read_params
from connecthub.ids import parse_id

router = APIRouter(tags=["admin"], route_class=EntityRoute)

DashboardCaller = Annotated[Caller, Depends(require("admin:read"))]
_WHO = " Staff with the View Dashboard permission (403 otherwise); scope admin:read."


def _keys(params: dict[str, Any]) -> list[str]:
    raw = params.get("keys")
    values = raw if isinstance(raw, list) else [] if raw is None else [raw]
    if not all(isinstance(v, str) for v in values):
        raise ValidationFailed("keys", "must be a list of names")
    return [str(v) for v in values]


def _window(params: dict[str, Any], max_days: int = service.MAX_DAYS) -> service.Window:
    return service.window(text(params, "start_at"), text(params, "end_at"), max_days=max_days)


async def _params(request: Request, caller: Caller) -> dict[str, Any]:
    service.check_dashboard(caller.token.role)
    return await read_params(request)


@router.post(
    "/api/v1/admin/measures",
    summary="Totals and daily figures over a window of days",
    description="Keys: active_users, new_users, interactions, opened_reports, "
    "resolved_reports, tag_uses and tag_accounts (with `tag_uses[id]`, `tag_accounts[id]`); "
    "analytics_active_posters (consenting accounts only; days under ANALYTICS_MIN_GROUP "
    "accounts have no point, the others carry Laplace noise: docs/analytics.md); "
    "others are left out." + _WHO,
)
async def measures(
    request: Request, caller: DashboardCaller, uow: UowDep
) -> list[entities.AdminMeasure]:
    params = await _params(request, caller)
    return await service.measures(uow, _keys(params), _window(params), params)


@router.post(
    "/api/v1/admin/dimensions",
    summary="Breakdowns over a window of days",
    description="Keys: languages, software_versions, space_usage, "
    "analytics_active_posters_by_cohort, analytics_feature_usage (consenting accounts, "
    "released as docs/analytics.md says; others are left out); "
    "`limit` (10 by default, at most 100)." + _WHO,
)
async def dimensions(
    request: Request, caller: DashboardCaller, uow: UowDep
) -> list[entities.AdminDimension]:
    params = await _params(request, caller)
    limit = service.DIMENSION_LIMIT_DEFAULT
    if params.get("limit") not in (None, ""):
        number = parse_id(params["limit"])
        if number is None or number < 1:
            raise ValidationFailed("limit", "must be a positive whole number")
        limit = min(number, service.DIMENSION_LIMIT_MAX)
    return await service.dimensions(uow, _keys(params), _window(params), limit)


@router.post(
    "/api/v1/admin/retention",
    summary="Sign-up cohorts and how many of them came back",
    description="`frequency` day (the default, also for an unknown value) or month." + _WHO,
)
async def retention(
    request: Request, caller: DashboardCaller, uow: UowDep
) -> list[entities.AdminCohort]:
    params = await _params(request, caller)
    frequency = "month" if text(params, "frequency") == "month" else "day"
    max_days = service.MAX_MONTHS * 31 if frequency == "month" else service.MAX_DAYS
    return await service.retention(uow, _window(params, max_days), frequency)
