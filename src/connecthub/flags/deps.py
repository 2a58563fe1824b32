"""Request-side helpers: the process's flags, and `FeaturesDep`, the evaluation context of
the caller built from the request alone (the token's account and role, the
Accept-Language header's first language): nothing is read from storage to evaluate."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from connecthub.flags.rules import normalise_locale
from connecthub.flags.runtime import Features, Flags
from connecthub.http.auth import optional_token


def flags_of(request: Request) -> Flags:
    flags: Flags = request.app.state.flags
    return flags


def preferred_locale(header: str | None) -> str | None:
    """The first language of an Accept-Language header (`pt-BR,pt;q=0.9` -> `pt-br`)."""
    if not header:
        return None
    first = header.split(",", 1)[0].split(";", 1)[0].strip()
    return normalise_locale(first) if first and first != "*" else None


async def features(request: Request) -> Features:
    token = await optional_token(request)
    account_id = token.account_id if token is not None else None
    role = token.role if token is not None else None
    locale = preferred_locale(request.headers.get("accept-language"))
    return flags_of(request).features(account_id, role, locale)


FeaturesDep = Annotated[Features, Depends(features)]
