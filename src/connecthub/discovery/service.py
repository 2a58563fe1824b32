"""Search rules. Accounts are searched by username prefix (on this server, the only one
there is until federation); hashtags by name prefix, for the callers the
`search_hashtags` feature flag is on for (rolled out as a canary: docs/operations.md);
statuses by their words and Mastodon's operators (discovery/query.py), for signed-in
callers only, among those they may find (repository.search_statuses; ADR 0033)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.discovery import repository
from connecthub.discovery.query import StatusQuery, parse
from connecthub.errors import NotFound
from connecthub.ids import id_for_time, new_id
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses.models import Status, Tag

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
    viewer_id: int | None,
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
    exclude_unreviewed: bool = False,
) -> Sequence[Tag]:
    """The hashtags matching `q` when the search covers hashtags and the caller has the
    feature (`enabled`: the `search_hashtags` flag evaluated for them); the most used in
    the last week first. Hashtags are never reviewed here (no trends yet), so
    `exclude_unreviewed` leaves only the exact name, as Mastodon keeps an unreviewed tag
    only when it is the one typed."""
    if not enabled or kind not in (None, "hashtags"):
        return []
    name = hashtag_query(q)
    if name is None:
        return []
    week_ago = utcnow() - timedelta(days=7)
    return await repository.tags_by_name_prefix(
        uow.session,
        name,
        since_id=id_for_time(int(week_ago.timestamp() * 1000)),
        exact_only=exclude_unreviewed,
        limit=limit,
        offset=offset,
    )


def statuses_searchable(q: str) -> bool:
    """Mastodon's rule: a query of one `#tag`, `@user` or `user@host` looks for that
    hashtag or account, not for statuses (`from:@user` is an operator, so it does)."""
    query = q.strip()
    if any(c.isspace() for c in query):
        return True
    if query.lower().startswith("from:"):
        return True
    return not (query.startswith("#") or "@" in query)


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


async def _authors(
    uow: UnitOfWork, viewer_id: int, parsed: StatusQuery, local_domain: str
) -> list[tuple[int, bool]]:
    """`from:` operands as account ids: `me`, `alice`, `@alice`, `alice@this.host`; an
    account that does not exist is not found (404), as in Mastodon."""
    names: list[tuple[str, bool]] = []
    resolved: list[tuple[int, bool]] = []
    for flag in parsed.authors:
        if flag.value.lower() == "me":
            resolved.append((viewer_id, flag.negated))
            continue
        name, _, domain = flag.value.partition("@")
        if domain and domain.lower() != local_domain.lower():
            raise NotFound()
        names.append((name, flag.negated))
    ids = await repository.account_ids_by_username(uow.session, [name for name, _ in names])
    for name, negated in names:
        if name.lower() not in ids:
            raise NotFound()
        resolved.append((ids[name.lower()], negated))
    return resolved


async def search_statuses(
    uow: UnitOfWork,
    viewer_id: int | None,
    q: str,
    *,
    kind: str | None,
    local_domain: str,
    account_id: int | None,
    min_id: int | None,
    max_id: int | None,
    limit: int,
    offset: int,
) -> Sequence[Status]:
    """The statuses matching `q` the viewer may find (their own, those they interacted
    with, public posts of accounts that opted in), when the search covers statuses; none
    for an anonymous caller, as Mastodon. `account_id`: only that author's (404 if none)."""
    if viewer_id is None or kind not in (None, "statuses") or not statuses_searchable(q):
        return []
    parsed = parse(q)
    authors = await _authors(uow, viewer_id, parsed, local_domain)
    if account_id is not None:
        if not await repository.account_exists(uow.session, account_id):
            raise NotFound()
        authors.append((account_id, False))
    criteria = repository.StatusCriteria(
        text=parsed.text(),
        authors=authors,
        has=[(flag.value, flag.negated) for flag in parsed.has],
        is_=[(flag.value, flag.negated) for flag in parsed.is_],
        languages=[(flag.value, flag.negated) for flag in parsed.languages],
        after_ms=_ms(parsed.after),
        before_ms=_ms(parsed.before),
        min_id=min_id,
        max_id=max_id,
        scope=parsed.scope,
    )
    if parsed.asks_nothing and account_id is None:
        return []  # a query of punctuation alone
    return await repository.search_statuses(
        uow.session, viewer_id, criteria, now_id=new_id(), limit=limit, offset=offset
    )
