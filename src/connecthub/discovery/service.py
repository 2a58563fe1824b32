"""Search rules. Only accounts are searched so far (by username prefix, on this server,
which is the only one there is until federation); statuses and hashtags come back empty,
as on a Mastodon server without a full-text index."""

from __future__ import annotations

from collections.abc import Sequence

from connecthub.accounts.models import Account
from connecthub.discovery import repository
from connecthub.infra.uow import UnitOfWork

TYPES = ("accounts", "hashtags", "statuses")


def account_query(q: str, local_domain: str) -> str | None:
    """The username part of `q` (`alice`, `@alice`, `@alice@this.host`), or None when `q`
    names another server or is not a username."""
    name, _, domain = q.strip().removeprefix("@").partition("@")
    if domain and domain.lower() != local_domain.lower():
        return None
    if not name or not all(c.isalnum() or c == "_" for c in name):
        return None
    return name


async def search_accounts(
    uow: UnitOfWork,
    viewer_id: int,
    q: str,
    *,
    kind: str | None,
    local_domain: str,
    limit: int,
    offset: int,
) -> Sequence[Account]:
    """The accounts matching `q` when the search covers accounts (`kind` None or
    "accounts")."""
    if kind not in (None, "accounts"):
        return []
    name = account_query(q, local_domain)
    if name is None:
        return []
    return await repository.accounts_by_username_prefix(
        uow.session, viewer_id, name, limit=limit, offset=offset
    )
