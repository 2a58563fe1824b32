"""The caller of a report moderation route: `require(scope)` (Mastodon's admin report
scopes), a refusal written to the audit trail as the report service's own refusals are."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from connecthub.admin.schemas import Moderator
from connecthub.errors import Forbidden
from connecthub.http.auth import optional_token, require
from connecthub.ids import parse_id
from connecthub.reports import service

READ, WRITE = "admin:read:reports", "admin:write:reports"


def moderator(scope: str, action: str) -> Callable[[Request], Awaitable[Moderator]]:
    """A dependency: the moderator calling with a user token holding `scope` (or its
    parent); a refused token of a signed-in account is audited as `action`."""
    check = require(scope)

    async def dependency(request: Request) -> Moderator:
        try:
            caller = await check(request)
        except Forbidden as refusal:
            token = await optional_token(request)
            if token is None or token.account_id is None:
                raise
            who = Moderator(account_id=token.account_id, role=token.role)
            report_id = parse_id(request.path_params.get("report_id"))
            raise service.audit_refusal(who, action, report_id, refusal) from None
        return Moderator(account_id=caller.account_id, role=caller.token.role)

    return dependency
