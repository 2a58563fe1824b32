"""Who is calling, and whether their token's scopes allow the route.

The bearer token is resolved once per request (the rate limiter may already have done it)
and kept in the request state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Request
from starlette.types import Scope

from connecthub.errors import Forbidden, Unauthorized
from connecthub.infra.engines import Engines
from connecthub.oauth.identity import TokenInfo
from connecthub.oauth.scopes import covers_any
from connecthub.oauth.tokens import authenticate, authenticate_near

_UNRESOLVED = object()
# `resolve_token_near`: the token is not held in this process (ask `resolve_token`).
NOT_NEAR = object()


def bearer_token(scope: Scope) -> str | None:
    """The token from `Authorization: Bearer …` (or `access_token` in the query string,
    which Mastodon accepts for streaming and some clients send elsewhere)."""
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return str(token.strip())
    query = scope.get("query_string", b"").decode("latin-1")
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == "access_token" and value:
            return str(unquote(value))
    return None


async def resolve_token(scope: Scope, engines: Engines) -> TokenInfo | None:
    """The caller's live token, or None for an anonymous request. An unknown or revoked
    token raises 401, as Mastodon answers."""
    state = scope.setdefault("state", {})
    cached = state.get("token", _UNRESOLVED)
    if cached is not _UNRESOLVED:
        if cached is False:
            raise Unauthorized()
        return cached  # type: ignore[no-any-return]
    raw = bearer_token(scope)
    if raw is None:
        state["token"] = None
        return None
    info = await authenticate(engines, raw)
    state["token"] = info if info is not None else False
    if info is None:
        raise Unauthorized()
    return info


def resolve_token_near(scope: Scope, engines: Engines) -> TokenInfo | object | None:
    """`resolve_token` when it needs no await: the caller's live token held in this process
    (kept in the request state as `resolve_token` keeps it), None for an anonymous request,
    or NOT_NEAR."""
    state = scope.setdefault("state", {})
    cached = state.get("token", _UNRESOLVED)
    if cached is not _UNRESOLVED:
        return NOT_NEAR if cached is False else cached
    raw = bearer_token(scope)
    if raw is None:
        state["token"] = None
        return None
    info = authenticate_near(engines, raw)
    if info is None:
        return NOT_NEAR
    state["token"] = info
    return info


async def optional_token(request: Request) -> TokenInfo | None:
    return await resolve_token(request.scope, request.app.state.engines)


@dataclass(frozen=True)
class Caller:
    """An authenticated user token."""

    token: TokenInfo
    account_id: int


def admitted_account(token: TokenInfo | None, scopes: tuple[str, ...]) -> int | None:
    """The caller's account id when `require(*scopes)` lets `token` in, else None: what an
    answer given at once (http/edge.py) asks, since it cannot raise the route's 401 or 403."""
    if token is None or token.pending is not None or not covers_any(token.scopes, scopes):
        return None
    return token.account_id


def require(
    *scopes: str, user: bool = True, pending: bool = False
) -> Callable[[Request], Awaitable[Caller]]:
    """A dependency: a token with any of `scopes` (and, when `user`, a signed-in user who
    may act: `pending` lets in one whose e-mail awaits confirmation or whose sign-up awaits
    approval, for the routes that exist for them)."""

    async def dependency(request: Request) -> Caller:
        token = await optional_token(request)
        if token is None:
            raise Unauthorized("The access token is invalid")
        if scopes and not covers_any(token.scopes, scopes):
            raise Forbidden("This action is outside the authorized scopes")
        if user and token.account_id is None:
            raise Unauthorized("This method requires an authenticated user")
        if user and token.pending is not None and not pending:
            raise Forbidden(token.pending)
        return Caller(token=token, account_id=token.account_id or 0)

    return dependency


OptionalToken = Annotated[TokenInfo | None, Depends(optional_token)]
