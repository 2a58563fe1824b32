"""Who may read the audit log (the View Audit Log permission: moderators and admins, as
Mastodon's default roles have it) and the reading itself. A refusal is audited too."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.roles import Permission, has_permission
from connecthub.audit import repository
from connecthub.audit.schemas import AuditFilter
from connecthub.core.pagination import Page
from connecthub.errors import Forbidden
from connecthub.infra.audit_trail import AuditLogRow
from connecthub.ops import audit

NOT_ALLOWED = "This action is not allowed"


async def read_page(
    session: AsyncSession, account_id: int, role: str | None, filters: AuditFilter, page: Page
) -> list[AuditLogRow]:
    if not has_permission(role, Permission.VIEW_AUDIT_LOG):
        audit.record(
            "audit.refused",
            actor=audit.account_actor(account_id),
            action="read_audit_log",
            outcome=audit.Outcome.REFUSED,
            reason=NOT_ALLOWED,
        )
        raise Forbidden(NOT_ALLOWED)
    return await repository.page_of(session, filters, page)
