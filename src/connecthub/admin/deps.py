"""The caller of a moderator endpoint (the admin API here, account deletion in privacy/,
approval in accounts/): `require(scope)`, with a refusal written to the audit trail like
the admin service's own refusals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from connecthub.admin import service
from connecthub.admin.schemas import Moderator
from connecthub.errors import Forbidden
from connecthub.http.auth import Caller, optional_token, require
from connecthub.http.deps import UowDep
from connecthub.ids import parse_id


def staff(scope: str, action: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency: a user token with `scope`; a refusal (a token without the admin scope,
    an account not yet confirmed) is audited as `action` on the path's account."""
    check = require(scope)

    # The unit of work (the route's own, shared) collects the refusal's audit entry.
    async def dependency(request: Request, _uow: UowDep) -> Caller:
        try:
            return await check(request)
        except Forbidden as refusal:
            token = await optional_token(request)
            if token is None or token.account_id is None:
                raise
            who = Moderator(account_id=token.account_id, role=token.role)
            raise service.audit_refusal(
                who, action, parse_id(request.path_params.get("account_id")), refusal
            ) from None

    return dependency


def moderator(caller: Caller) -> Moderator:
    return Moderator(account_id=caller.account_id, role=caller.token.role)
