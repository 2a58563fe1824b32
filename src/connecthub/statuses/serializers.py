"""The one converter from status models to Mastodon's Status, Poll and StatusEdit entities.

`status_entities` batch-loads everything a list of statuses needs (authors, boosted
statuses, mentions, tags, polls, the viewer's flags) in a fixed number of queries, however
long the list is, so a timeline page never turns into N+1 queries.
"""

from __future__ import annotations

import functools
import html
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypedDict

import orjson
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    bindparam,
    exists,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from connecthub import entities
from connecthub.accounts.models import Account, OAuthApplication, User
from connecthub.accounts.serializers import account_entity
from connecthub.cards import service as cards_service
from connecthub.cards.serializers import card_entity
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.emojis import service as emojis
from connecthub.emojis.serializers import shortcodes_in, used
from connecthub.filters import matching
from connecthub.filters.models import RULES_KIND
from connecthub.infra import entity_cache
from connecthub.infra.db import IdType, dialect_of, in_id_list
from connecthub.media import service as media_service
from connecthub.media.serializers import media_entity
from connecthub.statuses.models import (
    Bookmark,
    Favourite,
    FeaturedTag,
    Mention,
    Poll,
    PollVote,
    Status,
    StatusEdit,
    StatusPin,
    StatusTag,
    Tag,
    ThreadMute,
    Visibility,
)

VISIBILITY_NAMES = {
    Visibility.PUBLIC: "public",
    Visibility.UNLISTED: "unlisted",
    Visibility.PRIVATE: "private",
    Visibility.DIRECT: "direct",
}


_NAMES_BY_VALUE = {int(level): name for level, name in VISIBILITY_NAMES.items()}


def visibility_name(value: int) -> str:
    return _NAMES_BY_VALUE[value]


def tag_url(settings: Settings, name: str) -> str:
    return f"{settings.base_url}/tags/{name.lower()}"


def tag_details_entity(
    settings: Settings,
    tag_id: int | None,
    name: str,
    history: list[entities.TagHistory],
    following: bool | None,
) -> entities.TagDetails:
    """Mastodon's Tag entity. A hashtag nobody has used yet has no id (`""`, as Mastodon
    answers for one it has not stored); `following` only for a signed-in caller."""
    entity: entities.TagDetails = {
        "id": str(tag_id) if tag_id is not None else "",
        "name": name,
        "url": tag_url(settings, name),
        "history": history,
    }
    if following is not None:
        entity["following"] = following
    return entity


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def poll_expired(poll: Poll, now: datetime | None = None) -> bool:
    return poll.expires_at is not None and _aware(poll.expires_at) <= (now or utcnow())


ACCOUNT = "account"
STATUS = "status"


class Parts(TypedDict):
    """The edit-only parts of a status: part of its cached rendering (`Shared`)."""

    mentions: list[entities.Mention]
    tags: list[entities.Tag]
    media_attachments: list[entities.MediaAttachment]
    emojis: list[entities.CustomEmoji]  # those its texts use (emojis/serializers.used)
    poll: bool  # whether it has one: polls themselves are read fresh
    card: entities.PreviewCard | None  # set by the card job, which drops the rendering
    # Its author is marked sensitive by moderators (Account.sensitized_at): shown sensitive.
    sensitized: bool


# What every viewer sees of a status, rendered once and cached as JSON bytes (`STATUS`),
# dropped with any change to the row (counts included), its attachments or its edit
# (statuses/models.py, media/models.py `track`).
Shared = entities.StatusShared


# A cached status is `{"poll":true,` or `{"poll":null,` and then its `Shared` fields: the
# first key says whether to read a poll, and the bytes after it are spliced as they are.
WITH_POLL = b'{"poll":true,'
NO_POLL = b'{"poll":null,'


def shared_bytes(root: str, status: Status, parts: Parts, username: str) -> bytes:
    """The cached rendering of a status (see `WITH_POLL`)."""
    return orjson.dumps(
        {"poll": True if parts["poll"] else None, **_shared(root, status, parts, username)}
    )


def _parts_of(cached: bytes) -> Parts:
    value = orjson.loads(cached)
    return {
        "mentions": value["mentions"],
        "tags": value["tags"],
        "media_attachments": value["media_attachments"],
        "emojis": value["emojis"],
        "poll": bool(value["poll"]),
        "card": value["card"],
        "sensitized": bool(value["sensitive"]),
    }


def is_rendering(value: bytes) -> bool:
    """A cached status in the current format (an older one is a miss)."""
    return value.startswith(WITH_POLL) or value.startswith(NO_POLL)


@dataclass
class Loaded:
    """Everything fetched for one batch, keyed by id. `accounts` and `parts` are rendered
    and cached (infra/entity_cache.py); rows, counts, polls and viewer flags are read fresh."""

    accounts: dict[int, entities.Account] = field(default_factory=dict)
    parts: dict[int, Parts] = field(default_factory=dict)
    renderings: dict[int, bytes] = field(default_factory=dict)  # `shared_bytes`, by id
    boosted: dict[int, Status] = field(default_factory=dict)
    polls: dict[int, Poll] = field(default_factory=dict)
    option_votes: dict[int, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))
    own_votes: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    applications: dict[int, OAuthApplication] = field(default_factory=dict)
    favourited: set[int] = field(default_factory=set)
    reblogged: set[int] = field(default_factory=set)
    bookmarked: set[int] = field(default_factory=set)
    pinned: set[int] = field(default_factory=set)
    muted: set[int] = field(default_factory=set)  # in a thread the viewer muted
    # The viewer's filter results by status id, and the statuses a `hide` filter leaves out.
    filtered: dict[int, list[entities.FilterResult]] = field(default_factory=dict)
    hidden: set[int] = field(default_factory=set)


async def _load(
    session: AsyncSession,
    statuses: Sequence[Status],
    viewer_id: int | None,
    settings: Settings,
    context: str | None = None,
    *,
    unseen: bool = False,
) -> Loaded:
    loaded = Loaded()
    boost_ids = {s.reblog_of_id for s in statuses if s.reblog_of_id is not None}
    if boost_ids:
        rows = await session.scalars(select(Status).where(Status.id.in_(boost_ids)))
        loaded.boosted = {row.id: row for row in rows}
    everything = [*statuses, *loaded.boosted.values()]
    ids = {s.id for s in everything}
    cache = entity_cache.of(session)
    account_generation = parts_generation = b""
    cached_rules = None
    if cache is not None:
        wanted = {ACCOUNT: sorted({s.account_id for s in everything}), STATUS: sorted(ids)}
        if viewer_id is not None:  # the viewer's filter rules, in the same round trip
            wanted[RULES_KIND] = [viewer_id]
        cached = await cache.get_raw_many(wanted)
        raw_accounts, account_generation = cached[ACCOUNT]
        loaded.accounts = {i: orjson.loads(value) for i, value in raw_accounts.items()}
        raw_statuses, parts_generation = cached[STATUS]
        loaded.renderings = {i: v for i, v in raw_statuses.items() if is_rendering(v)}
        if RULES_KIND in cached:
            raw_rules, rules_generation = cached[RULES_KIND]
            rules_found = {i: orjson.loads(value) for i, value in raw_rules.items()}
            cached_rules = (rules_found, rules_generation)
    else:  # uncommitted changes: what this session itself rendered before, if anything
        loaded.accounts = entity_cache.remembered(
            session, ACCOUNT, {s.account_id for s in everything}
        )
        loaded.renderings = entity_cache.remembered(session, STATUS, ids)
        if viewer_id is not None:
            cached_rules = (entity_cache.remembered(session, RULES_KIND, [viewer_id]), b"")
    missing_accounts = {s.account_id for s in everything} - loaded.accounts.keys()
    if missing_accounts:
        rendered = await render_accounts(session, settings, missing_accounts)
        loaded.accounts.update(rendered)
        await _keep(session, cache, ACCOUNT, rendered, account_generation)
    missing = [s for s in everything if s.id not in loaded.renderings]
    if missing:
        usernames = {s.account_id: loaded.accounts[s.account_id]["username"] for s in missing}
        renderings = await render_statuses(session, settings, missing, usernames)
        loaded.renderings.update(renderings)
        if cache is not None:
            await cache.put_raw_many(STATUS, renderings, parts_generation)
        else:
            entity_cache.remember(session, STATUS, renderings)
    loaded.parts = {i: _parts_of(value) for i, value in loaded.renderings.items()}

    with_poll = [i for i in ids if loaded.parts[i]["poll"]]
    await load_polls(session, loaded, with_poll, viewer_id)

    if viewer_id is not None:
        # Statuses this transaction created carry no one's favourite, boost, bookmark or pin.
        known = ViewerFlags() if unseen else None
        await load_viewer_flags(session, loaded, ids, everything, viewer_id, known)
        rules = await matching.rules_for(session, viewer_id, cache, cached_rules)
        if cache is None:
            entity_cache.remember(session, RULES_KIND, {viewer_id: rules})
        if rules:
            texts = {s.id: f"{s.spoiler_text}\n{s.text}" for s in everything}
            apply_filters(loaded, statuses, texts, matching.ViewerFilters(rules, context, utcnow()))
    return loaded


async def remember_viewer_rules(session: AsyncSession, viewer_id: int) -> None:
    """Before a write that renders statuses for `viewer_id` afterwards (a post's response):
    the viewer's filter rules through the shared cache while the session is still clean (one
    cache round trip; a miss reads and stores them as a read would), kept in the session's
    memo, where the render after the write finds them. Once the session has written, it may
    not read the shared cache, so the render would otherwise query the filters."""
    cache = entity_cache.of(session)
    if cache is None:
        return
    raw, generation = (await cache.get_raw_many({RULES_KIND: [viewer_id]}))[RULES_KIND]
    found = {i: orjson.loads(value) for i, value in raw.items()}
    rules = await matching.rules_for(session, viewer_id, cache, (found, generation))
    entity_cache.remember(session, RULES_KIND, {viewer_id: rules})


def remember_new(
    session: AsyncSession,
    settings: Settings,
    status: Status,
    author: Account,
    role: str | None,
    mentioned: Sequence[Account],
    tags: Sequence[Tag],
    *,
    has_poll: bool,
) -> None:
    """A status its transaction has just inserted (and flushed), rendered from what the
    writer holds instead of read back: its author's entity (`author` as the session holds it,
    its count of statuses included, and its user's `role`) and its cached rendering go to
    the session's memo, so the renders that follow before the commit (the response, the
    fan-out job's entity, the stream events) run no render query. `mentioned` in the order
    they were added, as the mentions query answers them. Call it after the last flush that
    touches the status or its author (a flush drops their memo entries). A text naming a
    `:shortcode:` is left to the render, which looks the emojis up."""
    if not shortcodes_in(author.display_name, author.note):
        rendered = account_entity(settings, author, role)
        entity_cache.remember(session, ACCOUNT, {status.account_id: rendered})
    if status.has_media or shortcodes_in(status.text, status.spoiler_text):
        return  # its attachments or emojis are read by the render
    parts: Parts = {
        "mentions": [_mention_entity(settings, account) for account in mentioned],
        "tags": [_tag_entity(settings, tag) for tag in sorted(tags, key=lambda t: t.name_key)],
        "media_attachments": [],
        "emojis": [],
        "poll": has_poll,
        "card": None,  # a new status' card comes later, from its job
        "sensitized": author.sensitized_at is not None,
    }
    rendering = shared_bytes(settings.base_url, status, parts, author.username)
    entity_cache.remember(session, STATUS, {status.id: rendering})


async def load_polls(
    session: AsyncSession, loaded: Loaded, with_poll: Sequence[int], viewer_id: int | None
) -> None:
    """The polls of `with_poll` (status ids), their counts and the viewer's votes: polls
    change with every vote and show per-viewer state, so they are read fresh."""
    if not with_poll:
        return
    polls = list(await session.scalars(select(Poll).where(Poll.status_id.in_(with_poll))))
    loaded.polls = {poll.status_id: poll for poll in polls}
    await _load_poll_votes(session, loaded, [p.id for p in polls], viewer_id)


async def _keep(
    session: AsyncSession,
    cache: entity_cache.EntityCache | None,
    kind: str,
    rendered: dict[int, Any],
    generation: bytes,
) -> None:
    """Store what was rendered: in the shared cache, or (uncommitted changes) for this
    session alone."""
    if cache is not None:
        await cache.put_many(kind, rendered, generation)
    else:
        entity_cache.remember(session, kind, rendered)


class StatusRef(Protocol):
    """What the converter needs of a status row to find the rest (an ORM `Status`, or a
    row of these columns from a timeline's query)."""

    @property
    def id(self) -> int: ...
    @property
    def account_id(self) -> int: ...
    @property
    def reblog_of_id(self) -> int | None: ...
    @property
    def application_id(self) -> int | None: ...
    @property
    def spoiler_text(self) -> str: ...
    @property
    def text(self) -> str: ...


def apply_filters(
    loaded: Loaded,
    statuses: Sequence[StatusRef],
    texts: Mapping[int, str],
    active: matching.ViewerFilters,
) -> None:
    """Mastodon's `filtered` results for each status (a boost and what it boosts carry the
    same, matched on the boosted text), and which ones a `hide` filter leaves out.
    `texts`: spoiler text and text of each status and boosted status, by id."""
    if not active:
        return
    for status in statuses:
        boosted = status.reblog_of_id
        proper_id = boosted if boosted is not None and boosted in texts else status.id
        ids = [status.id] if proper_id == status.id else [status.id, proper_id]
        results, hidden = active.results(texts[proper_id], ids)
        if results:
            loaded.filtered[status.id] = loaded.filtered[proper_id] = results
        if hidden:
            loaded.hidden.add(status.id)


_POLL_MARK, _SENSITIZED_MARK = 1, 2


@functools.cache
def _miss_statements(dialect: str) -> dict[str, Any]:
    """The queries of a cache miss, built once per engine (building them cost about as
    much CPU as running them); the ids are bound at execution."""
    return {
        "accounts": select(Account, User.role)
        .outerjoin(User, User.account_id == Account.id)
        .where(in_id_list(Account.id, "ids", dialect)),
        "mentions": select(Mention.status_id, Account)
        .join(Account, Account.id == Mention.account_id)
        .where(in_id_list(Mention.status_id, "ids", dialect))
        .order_by(Mention.id),
        "tags": select(StatusTag.status_id, Tag)
        .join(Tag, Tag.id == StatusTag.tag_id)
        .where(in_id_list(StatusTag.status_id, "ids", dialect))
        .order_by(Tag.name_key),
        # Which statuses have a poll, and which have an author moderators marked
        # sensitive: one round trip for both marks.
        "marks": union_all(
            select(Poll.status_id, literal(_POLL_MARK)).where(
                in_id_list(Poll.status_id, "ids", dialect)
            ),
            select(Status.id, literal(_SENSITIZED_MARK))
            .join(Account, Account.id == Status.account_id)
            .where(in_id_list(Status.id, "ids", dialect), Account.sensitized_at.is_not(None)),
        ),
    }


async def render_accounts(
    session: AsyncSession, settings: Settings, account_ids: set[int]
) -> dict[int, entities.Account]:
    statement = _miss_statements(dialect_of(session))["accounts"]
    rows = (await session.execute(statement, {"ids": list(account_ids)})).all()
    texts = [text for account, _ in rows for text in (account.display_name, account.note)]
    found = await emojis.used_in(session, settings, texts)
    return {account.id: account_entity(settings, account, role, found) for account, role in rows}


async def render_statuses(
    session: AsyncSession,
    settings: Settings,
    statuses: Sequence[Status],
    usernames: Mapping[int, str],
) -> dict[int, bytes]:
    """The cached rendering (`shared_bytes`) of each status; `usernames` by account id."""
    parts = await _render_parts(session, settings, statuses)
    root = settings.base_url
    return {s.id: shared_bytes(root, s, parts[s.id], usernames[s.account_id]) for s in statuses}


async def _render_parts(
    session: AsyncSession, settings: Settings, statuses: Sequence[Status]
) -> dict[int, Parts]:
    """What a status shows that changes only when its row does (an edit, its card):
    mentions, tags, attachments, its card, and whether it has a poll."""
    ids = {s.id for s in statuses}
    parts: dict[int, Parts] = {
        i: {
            "mentions": [],
            "tags": [],
            "media_attachments": [],
            "emojis": [],
            "poll": False,
            "card": None,
            "sensitized": False,
        }
        for i in ids
    }
    statements = _miss_statements(dialect_of(session))
    params = {"ids": list(ids)}
    for status_id, account in (await session.execute(statements["mentions"], params)).all():
        parts[status_id]["mentions"].append(_mention_entity(settings, account))
    for status_id, tag in (await session.execute(statements["tags"], params)).all():
        parts[status_id]["tags"].append(_tag_entity(settings, tag))
    with_media = {s.id for s in statuses if s.has_media}
    if with_media:  # one query, and none for a page without media
        media = await media_service.attachments_of_statuses(session, with_media)
        for status_id, rows in media.items():
            parts[status_id]["media_attachments"] = [media_entity(settings, m) for m in rows]
    for status_id, mark in (await session.execute(statements["marks"], params)).all():
        parts[status_id]["poll" if mark == _POLL_MARK else "sensitized"] = True
    texts = [text for s in statuses for text in (s.text, s.spoiler_text)]
    found = await emojis.used_in(session, settings, texts)
    if found:
        for status in statuses:
            parts[status.id]["emojis"] = used(found, status.text, status.spoiler_text)
    card_ids = {s.preview_card_id for s in statuses if s.preview_card_id is not None}
    if card_ids:  # one query, and none for a page without cards
        cards = await cards_service.cards_by_id(session, card_ids)
        for status in statuses:
            card = cards.get(status.preview_card_id or 0)
            parts[status.id]["card"] = card_entity(settings, card) if card else None
    return parts


async def _load_poll_votes(
    session: AsyncSession, loaded: Loaded, poll_ids: list[int], viewer_id: int | None
) -> None:
    if not poll_ids:
        return
    counts = await session.execute(
        select(PollVote.poll_id, PollVote.choice, func.count())
        .where(PollVote.poll_id.in_(poll_ids))
        .group_by(PollVote.poll_id, PollVote.choice)
    )
    for poll_id, choice, count in counts.all():
        loaded.option_votes[poll_id][choice] = count
    if viewer_id is not None:
        mine = await session.execute(
            select(PollVote.poll_id, PollVote.choice).where(
                PollVote.poll_id.in_(poll_ids), PollVote.account_id == viewer_id
            )
        )
        for poll_id, choice in mine.all():
            loaded.own_votes[poll_id].append(choice)


@dataclass
class ViewerFlags:
    """The viewer's favourites, boosts, bookmarks, pins and muted threads among a page's
    statuses (ids)."""

    favourited: set[int] = field(default_factory=set)
    reblogged: set[int] = field(default_factory=set)
    bookmarked: set[int] = field(default_factory=set)
    pinned: set[int] = field(default_factory=set)
    muted: set[int] = field(default_factory=set)

    def add(self, status_id: int, flags: Sequence[bool]) -> None:
        """`flags`: the values of `flag_columns`, in their order."""
        favourited, reblogged, bookmarked, pinned, muted = flags
        if favourited:
            self.favourited.add(status_id)
        if reblogged:
            self.reblogged.add(status_id)
        if bookmarked:
            self.bookmarked.add(status_id)
        if pinned:
            self.pinned.add(status_id)
        if muted:
            self.muted.add(status_id)


FLAG_COUNT = 5  # the columns of `flag_columns`


def flag_columns(viewer: Any, status_id: Any) -> tuple[ColumnElement[bool], ...]:
    """The viewer's favourite, boost, bookmark and pin of `status_id`, and whether they muted
    its thread, as columns (EXISTS, each one index probe), in `ViewerFlags.add`'s order: the
    flags of `_viewer_flags_statement` for a query that selects its statuses itself (home's
    page query reads them in the same round trip)."""
    boost = aliased(Status)
    thread = aliased(Status)
    return (
        exists().where(Favourite.account_id == viewer, Favourite.status_id == status_id),
        exists().where(boost.account_id == viewer, boost.reblog_of_id == status_id),
        exists().where(Bookmark.account_id == viewer, Bookmark.status_id == status_id),
        exists().where(StatusPin.account_id == viewer, StatusPin.status_id == status_id),
        exists().where(
            ThreadMute.account_id == viewer,
            ThreadMute.conversation_id == thread.conversation_id,
            thread.id == status_id,
        ),
    )


@functools.cache
def _viewer_flags_statement(dialect: str) -> CompoundSelect[Any]:
    """Built once per engine, like home's statement: every timeline page runs it."""
    viewer = bindparam("viewer_id", type_=IdType)
    return union_all(
        select(literal("f"), Favourite.status_id).where(
            Favourite.account_id == viewer, in_id_list(Favourite.status_id, "ids", dialect)
        ),
        select(literal("r"), Status.reblog_of_id).where(
            Status.account_id == viewer, in_id_list(Status.reblog_of_id, "ids", dialect)
        ),
        select(literal("b"), Bookmark.status_id).where(
            Bookmark.account_id == viewer, in_id_list(Bookmark.status_id, "ids", dialect)
        ),
        select(literal("p"), StatusPin.status_id).where(
            StatusPin.account_id == viewer, in_id_list(StatusPin.status_id, "ids", dialect)
        ),
        select(literal("m"), Status.id)
        .join(ThreadMute, ThreadMute.conversation_id == Status.conversation_id)
        .where(ThreadMute.account_id == viewer, in_id_list(Status.id, "ids", dialect)),
    )


async def load_viewer_flags(
    session: AsyncSession,
    loaded: Loaded,
    ids: set[int],
    everything: Iterable[StatusRef],
    viewer_id: int,
    known: ViewerFlags | None = None,
) -> None:
    """The viewer's favourites, boosts, bookmarks, pins and muted threads among `ids`, in one
    query, or
    none when the page's own query read them (`known`)."""
    if known is not None:
        loaded.favourited = known.favourited
        loaded.reblogged = known.reblogged
        loaded.bookmarked = known.bookmarked
        loaded.pinned = known.pinned
        loaded.muted = known.muted
    else:
        statement = _viewer_flags_statement(dialect_of(session))
        params = {"viewer_id": viewer_id, "ids": list(ids)}
        sets = {
            "f": loaded.favourited,
            "r": loaded.reblogged,
            "b": loaded.bookmarked,
            "p": loaded.pinned,
            "m": loaded.muted,
        }
        for flag, status_id in (await session.execute(statement, params)).all():
            sets[flag].add(status_id)
    # Mastodon shows the posting application only to the author.
    app_ids = {
        s.application_id
        for s in everything
        if s.account_id == viewer_id and s.application_id is not None
    }
    if app_ids:
        apps = await session.scalars(
            select(OAuthApplication).where(OAuthApplication.id.in_(app_ids))
        )
        loaded.applications = {app.id: app for app in apps}


def poll_entity(
    poll: Poll,
    option_votes: dict[int, int],
    own_votes: list[int] | None,
    viewer_id: int | None,
) -> entities.Poll:
    expired = poll_expired(poll)
    hidden = poll.hide_totals and not expired and viewer_id != poll.account_id
    entity: entities.Poll = {
        "id": str(poll.id),
        "expires_at": iso(poll.expires_at),
        "expired": expired,
        "multiple": poll.multiple,
        "votes_count": poll.votes_count,
        "voters_count": poll.voters_count,
        "options": [
            {"title": title, "votes_count": None if hidden else option_votes.get(index, 0)}
            for index, title in enumerate(poll.options or [])
        ],
        "emojis": [],
    }
    if viewer_id is not None:
        entity["voted"] = bool(own_votes)
        entity["own_votes"] = sorted(own_votes or [])
    return entity


def _mention_entity(settings: Settings, account: Account) -> entities.Mention:
    return {
        "id": str(account.id),
        "username": account.username,
        "acct": account.username,
        "url": f"{settings.base_url}/@{account.username}",
    }


def _tag_entity(settings: Settings, tag: Tag) -> entities.Tag:
    return {"name": tag.name, "url": tag_url(settings, tag.name)}


class _ViewerFlags(TypedDict, total=False):
    favourited: bool
    reblogged: bool
    muted: bool
    bookmarked: bool
    pinned: bool


_NO_FLAGS: _ViewerFlags = {}


def _viewer_flags(status_id: int, loaded: Loaded, viewer_id: int | None) -> _ViewerFlags:
    """The viewer's own flags on a status; none for an anonymous reader."""
    if viewer_id is None:
        return _NO_FLAGS
    return {
        "favourited": status_id in loaded.favourited,
        "reblogged": status_id in loaded.reblogged,
        "muted": status_id in loaded.muted,
        "bookmarked": status_id in loaded.bookmarked,
        "pinned": status_id in loaded.pinned,
    }


def _shared(root: str, status: Status, parts: Parts, username: str) -> Shared:
    """`root`: the server's base URL (`base_url`), worked out once per batch."""
    return {
        "id": str(status.id),
        "created_at": iso(status.created_at),
        "in_reply_to_id": str(status.in_reply_to_id) if status.in_reply_to_id else None,
        "in_reply_to_account_id": str(status.in_reply_to_account_id)
        if status.in_reply_to_account_id
        else None,
        "sensitive": status.sensitive or parts["sensitized"],
        "spoiler_text": status.spoiler_text,
        "visibility": visibility_name(status.visibility),
        "language": status.language,
        "uri": f"{root}/users/{username}/statuses/{status.id}",
        "url": f"{root}/@{username}/{status.id}",
        "replies_count": status.replies_count,
        "reblogs_count": status.reblogs_count,
        "favourites_count": status.favourites_count,
        "edited_at": iso(status.edited_at),
        "content": status.content,
        "media_attachments": parts["media_attachments"],
        "mentions": parts["mentions"],
        "tags": parts["tags"],
        "emojis": parts["emojis"],
        "card": parts["card"],
    }


def application_entity(
    loaded: Loaded, application_id: int | None
) -> entities.StatusApplication | None:
    application = loaded.applications.get(application_id or 0)
    return {"name": application.name, "website": application.website} if application else None


def viewer_poll(loaded: Loaded, status_id: int, viewer_id: int | None) -> entities.Poll | None:
    poll = loaded.polls.get(status_id)
    if poll is None:
        return None
    return poll_entity(
        poll, loaded.option_votes.get(poll.id, {}), loaded.own_votes.get(poll.id), viewer_id
    )


def _entity(root: str, status: Status, loaded: Loaded, viewer_id: int | None) -> entities.Status:
    """`root`: the server's base URL (`base_url`), worked out once per batch."""
    author = loaded.accounts[status.account_id]
    boosted = loaded.boosted.get(status.reblog_of_id or 0)
    return {
        **_shared(root, status, loaded.parts[status.id], author["username"]),
        "reblog": _entity(root, boosted, loaded, viewer_id) if boosted else None,
        "application": application_entity(loaded, status.application_id),
        "account": author,
        "poll": viewer_poll(loaded, status.id, viewer_id),
        **_viewer_flags(status.id, loaded, viewer_id),
        "filtered": loaded.filtered.get(status.id, []),
    }


async def status_entities(
    session: AsyncSession,
    statuses: Sequence[Status],
    viewer_id: int | None,
    settings: Settings,
    *,
    context: str | None = None,
    unseen: bool = False,
) -> list[entities.Status]:
    """Status entities for `statuses`, in the same order, as `viewer_id` sees them (None:
    anonymous, so no viewer flags). Callers pass only statuses the viewer may read.

    `context` is the filter context the statuses are shown in (home, notifications,
    public, thread, account): only the viewer's filters for it apply, and those that `hide`
    leave their statuses out of the list. Without a context every active filter marks its
    statuses (`filtered`) and none is left out, as Mastodon serves one status.

    `unseen`: the statuses were created by the session's own uncommitted transaction (and
    boost none that existed before), so the viewer's flags on them are known to be unset."""
    if not statuses:
        return []
    loaded = await _load(session, statuses, viewer_id, settings, context, unseen=unseen)
    root = settings.base_url
    return [
        _entity(root, status, loaded, viewer_id)
        for status in statuses
        if status.id not in loaded.hidden
    ]


async def status_entity(
    session: AsyncSession,
    status: Status,
    viewer_id: int | None,
    settings: Settings,
    *,
    unseen: bool = False,
) -> entities.Status:
    return (await status_entities(session, [status], viewer_id, settings, unseen=unseen))[0]


def status_edit_entities(
    settings: Settings, author: Account, current: Status, edits: Sequence[StatusEdit]
) -> list[entities.StatusEdit]:
    """Mastodon's StatusEdit list, oldest first. Edits record every version (the first
    edit also records the original), so an unedited status is its one current version."""
    account = account_entity(settings, author)
    if not edits:
        edits = [
            StatusEdit(
                content=current.content,
                spoiler_text=current.spoiler_text,
                sensitive=current.sensitive,
                poll_options=None,
                created_at=current.created_at,
            )
        ]
    return [_status_edit_entity(account, edit) for edit in edits]


def _status_edit_entity(account: entities.Account, edit: StatusEdit) -> entities.StatusEdit:
    entity: entities.StatusEdit = {
        "content": edit.content,
        "spoiler_text": edit.spoiler_text,
        "sensitive": edit.sensitive,
        "created_at": iso(edit.created_at),
        "account": account,
        "media_attachments": [],
        "emojis": [],
    }
    # Mastodon leaves `poll` out of a version that had none (not null).
    if edit.poll_options:
        entity["poll"] = {"options": [{"title": option} for option in edit.poll_options]}
    return entity


# --- featured tags ------------------------------------------------------------------------


def featured_tag_entity(
    settings: Settings,
    username: str,
    row: FeaturedTag,
    statuses_count: int,
    last_status_at: datetime | None,
) -> entities.FeaturedTag:
    return {
        "id": str(row.id),
        "name": row.name,
        "url": f"{settings.base_url}/@{username}/tagged/{row.name.lower()}",
        "statuses_count": str(statuses_count),
        "last_status_at": _aware(last_status_at).date().isoformat() if last_status_at else None,
    }


OEMBED_WIDTH = 400
OEMBED_CACHE_AGE = 86_400


def oembed_entity(
    settings: Settings, status: Status, author: Account, width: int | None, height: int | None
) -> entities.OEmbed:
    """Mastodon's oEmbed of a public status: an iframe of the status' embed page."""
    root = settings.base_url
    width = width or OEMBED_WIDTH
    source = html.escape(f"{root}/@{author.username}/{status.id}/embed", quote=True)
    frame_height = f' height="{height}"' if height else ""
    return {
        "type": "rich",
        "version": "1.0",
        "author_name": author.display_name or author.username,
        "author_url": f"{root}/@{author.username}",
        "provider_name": settings.local_domain,
        "provider_url": f"{root}/",
        "cache_age": OEMBED_CACHE_AGE,
        "html": f'<iframe src="{source}" class="mastodon-embed" '
        f'style="max-width: 100%; border: 0" width="{width}"{frame_height} '
        'allowfullscreen="allowfullscreen"></iframe>',
        "width": width,
        "height": height,
    }
