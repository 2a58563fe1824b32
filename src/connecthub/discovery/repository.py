"""Search queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Float,
    Select,
    and_,
    case,
    cast,
    desc,
    exists,
    func,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from connecthub.accounts.models import Account
from connecthub.ids import id_for_time
from connecthub.infra import fulltext
from connecthub.infra.db import dialect_of
from connecthub.media.models import MediaAttachment, MediaKind
from connecthub.relationships.models import Follow
from connecthub.statuses.access import blocked_between, not_muted_by, readable_by
from connecthub.statuses.models import (
    Bookmark,
    Favourite,
    Mention,
    Poll,
    PollVote,
    Status,
    StatusTag,
    Tag,
    Visibility,
)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _findable_by(viewer_id: int | None, key: str) -> ColumnElement[bool]:
    """A limited (silenced) account is left out of the prefix matches of those who do not
    follow it; its exact username still finds it (it stays reachable, as Mastodon's)."""
    if viewer_id is None:
        return or_(Account.silenced_at.is_(None), Account.username_key == key)
    follows = exists().where(Follow.account_id == viewer_id, Follow.target_account_id == Account.id)
    return or_(
        Account.silenced_at.is_(None),
        Account.id == viewer_id,
        Account.username_key == key,
        follows,
    )


async def accounts_by_username_prefix(
    session: AsyncSession,
    viewer_id: int | None,
    prefix: str,
    *,
    limit: int,
    offset: int,
    following: bool = False,
    followers: bool = False,
) -> Sequence[Account]:
    """Active accounts whose username starts with `prefix` (case-insensitive), leaving out
    any account across a block with the viewer and limited accounts the viewer does not
    follow (`_findable_by`); only those the viewer follows (`following`) or who follow the
    viewer (`followers`) when asked. Ranked: the exact match, then accounts the viewer
    follows, then the most recently active. An anonymous viewer (None) has no blocks and
    follows no one."""
    key = prefix.lower()
    conditions: list[ColumnElement[bool]] = [
        Account.username_key.like(f"{_escape_like(key)}%", escape="\\"),
        Account.suspended_at.is_(None),
        _findable_by(viewer_id, key),
    ]
    ranking: list[Any] = [case((Account.username_key == key, 0), else_=1)]
    if viewer_id is not None:
        mine = select(Follow.target_account_id).where(Follow.account_id == viewer_id)
        conditions.append(~blocked_between(viewer_id, Account.id))
        if following:
            conditions.append(Account.id.in_(mine))
        if followers:
            theirs = select(Follow.account_id).where(Follow.target_account_id == viewer_id)
            conditions.append(Account.id.in_(theirs))
        ranking.append(case((Account.id.in_(mine), 0), else_=1))
    query = (
        select(Account)
        .where(*conditions)
        .order_by(
            *ranking,
            Account.last_status_at.is_(None),
            Account.last_status_at.desc(),
            Account.username_key,
        )
        .limit(limit)
        .offset(offset)
    )
    return (await session.execute(query)).scalars().all()


async def tags_by_name_prefix(
    session: AsyncSession,
    prefix: str,
    *,
    since_id: int,
    exact_only: bool,
    limit: int,
    offset: int,
) -> Sequence[Tag]:
    """Hashtags whose name starts with `prefix` (case-insensitive; only the exact name when
    `exact_only`). Ranked: the exact match, then the most used since `since_id` (an id
    bound: the last week), then the shortest name."""
    key = prefix.lower()
    matching = Tag.name_key == key
    if not exact_only:
        matching = Tag.name_key.like(f"{_escape_like(key)}%", escape="\\")
    uses = (
        select(func.count())
        .select_from(StatusTag)
        .where(StatusTag.tag_id == Tag.id, StatusTag.status_id >= since_id)
        .scalar_subquery()
    )
    query = (
        select(Tag)
        .where(matching)
        .order_by(
            case((Tag.name_key == key, 0), else_=1),
            uses.desc(),
            func.length(Tag.name_key),
            Tag.name_key,
        )
        .limit(limit)
        .offset(offset)
    )
    return (await session.execute(query)).scalars().all()


# -- statuses --------------------------------------------------------------------------

# Recency: a match posted this many days ago weighs half what the same match posted now does.
RECENCY_HALF_DAYS = 7.0
# How many of the newest matching statuses of each part of a search's scope it ranks (and
# pages through).
SEARCH_WINDOW = 200
_ID_UNITS_PER_DAY = float(id_for_time(86_400_000))
_MEDIA_KINDS = {
    "image": (MediaKind.IMAGE,),
    "video": (MediaKind.VIDEO, MediaKind.GIFV),
    "audio": (MediaKind.AUDIO,),
}


@dataclass
class StatusCriteria:
    """A status search as SQL needs it: the words, and the operators with their accounts
    resolved (`authors`: (account id, excluded)), dates as moments."""

    text: fulltext.TextQuery
    authors: list[tuple[int, bool]] = field(default_factory=list)
    has: list[tuple[str, bool]] = field(default_factory=list)
    is_: list[tuple[str, bool]] = field(default_factory=list)
    languages: list[tuple[str, bool]] = field(default_factory=list)
    after_ms: int | None = None
    before_ms: int | None = None
    min_id: int | None = None
    max_id: int | None = None
    scope: str = "all"


# Aliases made once, at import (a fresh one rebuilds its columns per statement); sharing
# them is safe for the reason statuses/access.py gives: each belongs to one function.
_SEARCHABLE_AUTHOR = aliased(Account)


def searchable_author(viewer_id: int, account_id: Any) -> ColumnElement[bool]:
    """SQL predicate: the posts of `account_id` (a column) may appear in the viewer's
    search at all. THE place for account-level rules of search: the author is not
    suspended (readable_by says so too), and a silenced author's posts are found only by
    the author and their followers (Mastodon's StatusFilter)."""
    hidden = or_(
        _SEARCHABLE_AUTHOR.suspended_at.is_not(None),
        and_(
            _SEARCHABLE_AUTHOR.silenced_at.is_not(None),
            _SEARCHABLE_AUTHOR.id != viewer_id,
            ~exists().where(
                Follow.account_id == viewer_id, Follow.target_account_id == _SEARCHABLE_AUTHOR.id
            ),
        ),
    )
    return ~exists().where(_SEARCHABLE_AUTHOR.id == account_id, hidden)


_LIBRARY_THEIRS = aliased(Status)


def _library(viewer_id: int) -> ColumnElement[bool]:
    """One's own statuses and those one favourited, boosted, bookmarked, replied to, voted
    in or is mentioned in (Mastodon's `searchable_by`): findable by oneself. One set of ids
    read from the viewer's own rows by index, so a search of the library is driven by it
    (bounded by the viewer's activity) rather than by every status matching the words."""
    library: CompoundSelect[Any] = union(
        select(_LIBRARY_THEIRS.id).where(_LIBRARY_THEIRS.account_id == viewer_id),
        select(Favourite.status_id).where(Favourite.account_id == viewer_id),
        select(Bookmark.status_id).where(Bookmark.account_id == viewer_id),
        select(Mention.status_id).where(Mention.account_id == viewer_id),
        select(_LIBRARY_THEIRS.reblog_of_id).where(
            _LIBRARY_THEIRS.account_id == viewer_id, _LIBRARY_THEIRS.reblog_of_id.is_not(None)
        ),
        select(_LIBRARY_THEIRS.in_reply_to_id).where(
            _LIBRARY_THEIRS.account_id == viewer_id, _LIBRARY_THEIRS.in_reply_to_id.is_not(None)
        ),
        select(Poll.status_id)
        .join(PollVote, PollVote.poll_id == Poll.id)
        .where(PollVote.account_id == viewer_id),
    )
    return Status.id.in_(library)


_PUBLIC_AUTHOR = aliased(Account)


def _public() -> ColumnElement[bool]:
    """Public posts of accounts that opted in (`indexable`): findable by anyone."""
    return and_(
        Status.visibility == Visibility.PUBLIC,
        exists().where(_PUBLIC_AUTHOR.id == Status.account_id, _PUBLIC_AUTHOR.indexable.is_(True)),
    )


def _scopes(viewer_id: int, scope: str) -> list[ColumnElement[bool]]:
    """Which statuses a search looks through, as separate parts: `library`, `public`
    (`in:` narrows to one), or both (`all`). The visibility rule applies on top."""
    parts = []
    if scope in ("all", "public"):
        parts.append(_public())
    if scope in ("all", "library"):
        parts.append(_library(viewer_id))
    return parts


def _has(value: str) -> ColumnElement[bool]:
    if value == "media":
        return Status.has_media.is_(True)
    if value == "poll":
        return exists().where(Poll.status_id == Status.id)
    if value == "link":
        return Status.preview_card_id.is_not(None)
    kinds = [int(kind) for kind in _MEDIA_KINDS[value]]
    return exists().where(MediaAttachment.status_id == Status.id, MediaAttachment.kind.in_(kinds))


def _is(value: str) -> ColumnElement[bool]:
    if value == "reply":
        return Status.in_reply_to_id.is_not(None)
    return Status.sensitive.is_(True)


def _language(code: str) -> ColumnElement[bool]:
    return or_(Status.language == code, Status.language.like(f"{code}-%"))


def _negatable(condition: ColumnElement[bool], negated: bool) -> ColumnElement[bool]:
    return ~condition if negated else condition


def _operators(criteria: StatusCriteria) -> list[ColumnElement[bool]]:
    conditions = [_negatable(Status.account_id == a, neg) for a, neg in criteria.authors]
    conditions += [_negatable(_has(value), neg) for value, neg in criteria.has]
    conditions += [_negatable(_is(value), neg) for value, neg in criteria.is_]
    conditions += [_negatable(_language(code), neg) for code, neg in criteria.languages]
    if criteria.after_ms is not None:
        conditions.append(Status.id >= id_for_time(criteria.after_ms))
    if criteria.before_ms is not None:
        conditions.append(Status.id < id_for_time(criteria.before_ms))
    if criteria.min_id is not None:
        conditions.append(Status.id > criteria.min_id)
    if criteria.max_id is not None:
        conditions.append(Status.id < criteria.max_id)
    return conditions


_BY_AUTHOR_THEIRS = aliased(Status)


def _by_author(criteria: StatusCriteria) -> Select[Any] | None:
    """The ids of the `from:` author's statuses, when the query names one."""
    authors = [account_id for account_id, negated in criteria.authors if not negated]
    if not authors:
        return None
    return select(_BY_AUTHOR_THEIRS.id).where(_BY_AUTHOR_THEIRS.account_id == authors[0])


async def search_statuses(
    session: AsyncSession,
    viewer_id: int,
    criteria: StatusCriteria,
    *,
    now_id: int,
    limit: int,
    offset: int,
) -> Sequence[Status]:
    """The statuses matching `criteria` that the viewer may find: within the scope, inside
    THE visibility rule, no boosts, no muted author. With words to rank: the newest
    `SEARCH_WINDOW` matches of each part of the scope (public posts of opted-in accounts;
    the viewer's library) are ranked by relevance, a match weighing less as it ages
    (`RECENCY_HALF_DAYS`) — the windows bound the work of a common word (ADR 0033).
    Without words: newest first."""
    dialect = dialect_of(session)
    configs = await fulltext.available_configs(session) if dialect == "postgresql" else {}
    base = select(Status.id).where(Status.reblog_of_id.is_(None), *_operators(criteria))
    findable = (
        readable_by(viewer_id),
        not_muted_by(viewer_id, Status.account_id),
        searchable_author(viewer_id, Status.account_id),
    )
    scopes = _scopes(viewer_id, criteria.scope)
    if not criteria.text.ranked:  # operators alone: newest first
        query = fulltext.restrict(
            base.where(or_(*scopes), *findable), Status.id, criteria.text, dialect, configs
        ).query
        newest = query.order_by(Status.id.desc()).limit(limit).offset(offset)
        found = select(Status).where(Status.id.in_(newest.scalar_subquery()))
        return (await session.execute(found.order_by(Status.id.desc()))).scalars().all()
    windows = []
    among = _by_author(criteria)
    for part in scopes:
        matched = fulltext.restrict(
            base.where(part), Status.id, criteria.text, dialect, configs, among
        )
        assert matched.relevance is not None  # words to rank
        newest_matches = (
            matched.query.add_columns(matched.relevance.label("relevance"))
            .order_by(matched.position.desc())
            .limit(SEARCH_WINDOW)
            .subquery()
        )
        windows.append(select(newest_matches.c.id, newest_matches.c.relevance))
    window = union(*windows).subquery() if len(windows) > 1 else windows[0].subquery()
    age_days = cast(literal(now_id) - Status.id, Float) / _ID_UNITS_PER_DAY
    score = window.c.relevance / (1.0 + age_days / RECENCY_HALF_DAYS)
    ranked = (
        select(Status)
        .join(window, window.c.id == Status.id)
        .where(*findable)
        .order_by(desc(score), Status.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return (await session.execute(ranked)).scalars().all()


async def account_ids_by_username(session: AsyncSession, names: Sequence[str]) -> dict[str, int]:
    """{lower-cased username: id} of the accounts named (suspended ones included: their
    posts are left out by the visibility rule, not by the name)."""
    keys = sorted({name.lower() for name in names})
    if not keys:
        return {}
    rows = await session.execute(
        select(Account.username_key, Account.id).where(Account.username_key.in_(keys))
    )
    return {str(key): int(account_id) for key, account_id in rows.all()}


async def account_exists(session: AsyncSession, account_id: int) -> bool:
    query = select(Account.id).where(Account.id == account_id)
    return (await session.execute(query)).first() is not None
