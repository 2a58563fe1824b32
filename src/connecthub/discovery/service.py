"""Search rules. Accounts are searched by username prefix (on this server, the only one
there is until federation); hashtags by name prefix, for the callers the
`search_hashtags` feature flag is on for (rolled out as a canary: docs/operations.md);
statuses come back empty, as on a Mastodon server without a full-text index."""

from __future__ import annotations

from collections.abc import Sequence

from connecthub.accounts.models import Account
from connecthub.discovery import repository
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses.models import Tag

TYPES = ("accounts", "hashtags", "statuses")
# The feature flag (boolean, off unless it exists and says otherwise) of hashtag search.
HASHTAG_SEARCH_FLAG = "search_hashtags"


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
    following: bool = False,
    followers: bool = False,
) -> Sequence[Account]:
    """The accounts matching `q` when the search covers accounts (`kind` None or
    "accounts"); narrowed to those the viewer follows, or who follow the viewer, when
    asked. The one account search: `/api/v2/search` and `/api/v1/accounts/search`."""
    if kind not in (None, "accounts"):
        return []
    name = account_query(q, local_domain)
    if name is None:
        return []
    return await repository.accounts_by_username_prefix(
        uow.session,
        viewer_id,
        name,
        limit=limit,
        offset=offset,
        following=following,
        followers=followers,
    )


def hashtag_query(q: str) -> str | None:
    """The tag name in `q` (`cats`, `#cats`), or None when `q` cannot be one."""
    name = q.strip().removeprefix("#")
    if not name or len(name) > 128 or not all(c.isalnum() or c == "_" for c in name):
        return None
    return name


async def search_hashtags(
    uow: UnitOfWork,
    q: str,
    *,
    kind: str | None,
    enabled: bool,
    limit: int,
    offset: int,
) -> Sequence[Tag]:
    """The hashtags matching `q` when the search covers hashtags and the caller has the
    feature (`enabled`: the `search_hashtags` flag evaluated for them)."""
    if not enabled or kind not in (None, "hashtags"):
        return []
    name = hashtag_query(q)
    if name is None:
        return []
    return await repository.tags_by_name_prefix(uow.session, name, limit=limit, offset=offset)
