"""Browser sign-in sessions: the cookie carries a random secret, the server keeps only its
hash (with user agent, IP and times) so a session can be listed and revoked, and a stolen
database does not yield a usable cookie.

The OAuth authorize page uses `current_web_user` to skip the credentials form for a
signed-in browser. Finding the browser's user also sets the language its pages are shown in
(`request.state.page_locale`: the account's locale, http/pages.py); `signed_in_locale` is
the dependency that does only that, for the pages that have no other use for the user.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request, Response

from connecthub.accounts.models import Account, User, WebSession
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.http.deps import UowDep
from connecthub.infra.uow import UnitOfWork
from connecthub.oauth.tokens import generate_secret, hash_secret
from connecthub.web_auth import repository

SESSION_COOKIE = "connecthub_session"
SESSION_LIFETIME = timedelta(days=30)
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_ip(request: Request) -> str:
    ip = getattr(request.state, "client_ip", None)
    return str(ip) if ip else (request.client.host if request.client else "0.0.0.0")  # noqa: S104


async def current_web_user(request: Request, uow: UnitOfWork) -> tuple[User, Account] | None:
    """The user signed in on this browser, or None."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    found = await repository.live_web_session(
        uow.session, hash_secret(secret), utcnow() - SESSION_LIFETIME
    )
    if found is None:
        return None
    web_session, user, account = found
    request.state.page_locale = user.locale
    # Reads may run on a replica: "last seen" is recorded on writes only.
    if request.method in _WRITE_METHODS:
        web_session.last_seen_at = utcnow()
    return user, account


async def signed_in_locale(request: Request, uow: UowDep) -> None:
    """Dependency of the page routers: a signed-in browser's pages in its account's locale.
    Only pages opened (GET, HEAD) look it up; a form's answer has its own user or is shown
    in the browser's language."""
    if request.method in _WRITE_METHODS or not request.cookies.get(SESSION_COOKIE):
        return
    await current_web_user(request, uow)


def current_session_hash(request: Request) -> str | None:
    secret = request.cookies.get(SESSION_COOKIE)
    return hash_secret(secret) if secret else None


async def start_web_session(
    request: Request, response: Response, uow: UnitOfWork, user: User
) -> None:
    """Record a session for `user` and set its cookie on `response`."""
    secret = generate_secret()
    now = utcnow()
    repository.add_web_session(
        uow.session,
        WebSession(
            user_id=user.id,
            secret_hash=hash_secret(secret),
            user_agent=(request.headers.get("user-agent") or "")[:512] or None,
            ip=client_ip(request)[:64],
            created_at=now,
            last_seen_at=now,
        ),
    )
    user.last_sign_in_at = now
    await uow.session.flush()
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_settings(request).behind_tls,
    )


async def end_web_session(request: Request, response: Response, uow: UnitOfWork) -> None:
    """Revoke this browser's session and clear its cookie."""
    found = await current_web_user(request, uow)
    secret_hash = current_session_hash(request)
    if found is not None and secret_hash is not None:
        await repository.revoke_web_sessions(uow.session, found[0].id, only_hash=secret_hash)
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_settings(request).behind_tls,
    )


async def revoke_all_web_sessions(uow: UnitOfWork, user: User) -> None:
    """Sign every browser out (password change or reset)."""
    await repository.revoke_web_sessions(uow.session, user.id)
