"""`GET /api/v1/admin/audit_log`: the audit trail, newest first (ConnectHub extension)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from connecthub import entities
from connecthub.audit import service
from connecthub.audit.schemas import AuditFilter
from connecthub.audit.serializers import audit_entry_entity
from connecthub.core.params import text
from connecthub.errors import ValidationFailed
from connecthub.http.auth import Caller, require
from connecthub.http.deps import UowDep
from connecthub.http.entity_route import EntityRoute
from connecthub.http.pagination import WidePageDep, link_header
from connecthub.http.params import read_params
from connecthub.ids import parse_id

router = APIRouter(tags=["admin"], route_class=EntityRoute)

Reader = Annotated[Caller, Depends(require("admin:read"))]


def _moment(params: dict[str, Any], field: str) -> datetime | None:
    value = text(params, field).strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(field, "must be an ISO 8601 date or datetime") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _filters(params: dict[str, Any]) -> AuditFilter:
    account = text(params, "account_id").strip()
    account_id = parse_id(account) if account else None
    if account and account_id is None:
        raise ValidationFailed("account_id", "must be a numeric id")
    return AuditFilter(
        action=text(params, "action").strip() or None,
        account_id=account_id,
        target_type=text(params, "target_type").strip() or None,
        target_id=text(params, "target_id").strip() or None,
        since=_moment(params, "since"),
        until=_moment(params, "until"),
    )


@router.get(
    "/api/v1/admin/audit_log",
    summary="The audit log, newest first (ConnectHub extension)",
    description=(
        "Every moderation and administrative act, done or refused, and every sign-in: who "
        "(`actor`, `actor_account_id`), `action`, `outcome` (done, refused), the target "
        "(`target_type`, `target_id`), `before` / `after`, the client `ip`, and the row's "
        "link in the hash chain (`hash`; `connecthub admin verify-audit` checks it). "
        "Filters: `action`, `account_id` (the actor), `target_type`, `target_id`, `since`, "
        "`until` (ISO 8601). Pages: `max_id`, `since_id`, `min_id`, `limit` (default 40, at "
        "most 80) and the `Link` header. Needs `admin:read` and the View Audit Log "
        "permission (moderators and admins; 403 otherwise, audited)."
    ),
)
async def audit_log(
    request: Request, response: Response, caller: Reader, uow: UowDep, page: WidePageDep
) -> list[entities.AuditLogEntry]:
    filters = _filters(await read_params(request))
    rows = await service.read_page(uow.session, caller.account_id, caller.token.role, filters, page)
    if rows and (link := link_header(request, rows[0].id, rows[-1].id)):
        response.headers["Link"] = link
    return [audit_entry_entity(row) for row in rows]
