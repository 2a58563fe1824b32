"""Browser sign-in sessions (a signed cookie naming a server-side session).

INTERFACE STUB: the sign-up/sign-in helper implements these; the OAuth authorize page uses
`current_web_user` to skip the credentials form for a signed-in browser.
"""

from __future__ import annotations

from fastapi import Request, Response

from connecthub.accounts.models import Account, User
from connecthub.infra.uow import UnitOfWork

SESSION_COOKIE = "connecthub_session"


async def current_web_user(request: Request, uow: UnitOfWork) -> tuple[User, Account] | None:
    """The user signed in on this browser, or None."""
    return None


async def start_web_session(
    request: Request, response: Response, uow: UnitOfWork, user: User
) -> None:
    """Record a session for `user` and set its cookie on `response`."""
    raise NotImplementedError


async def end_web_session(request: Request, response: Response, uow: UnitOfWork) -> None:
    """Revoke this browser's session and clear its cookie."""
    raise NotImplementedError
