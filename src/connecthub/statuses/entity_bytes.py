"""A page of statuses written straight to JSON bytes, for the timelines (ADR 0010).

What every viewer sees of a status is rendered once (`serializers.shared_bytes`) and kept in
the entity cache as JSON bytes; a read takes the page's statuses, their authors' accounts and
the viewer's filter rules in one MGET, the viewer's favourites, boosts, bookmarks and pins in
one query, and splices the per-read parts (author, boosted status, poll, application, flags,
filter results) around the cached bytes. No entity dict is built for a cached status and no
ORM row is loaded: the answer is `[` + the statuses joined by `,` + `]`.

The same converter renders what is cached (serializers.py), so the bytes hold exactly the
entity `status_entities` returns (tests/timelines/test_page_bytes.py compares the two).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.filters import matching
from connecthub.filters.models import RULES_KIND
from connecthub.infra import entity_cache
from connecthub.infra.db import dialect_of, in_id_list
from connecthub.statuses.models import Status
from connecthub.statuses.serializers import (
    ACCOUNT,
    FLAG_COUNT,
    NO_POLL,
    STATUS,
    WITH_POLL,
    Loaded,
    StatusRef,
    ViewerFlags,
    application_entity,
    apply_filters,
    is_rendering,
    load_polls,
    load_viewer_flags,
    render_accounts,
    render_statuses,
    status_entities,
    viewer_poll,
)


class Ref(NamedTuple):
    """A status as a timeline query names it: enough to find the rest in the cache."""

    id: int
    account_id: int
    reblog_of_id: int | None
    application_id: int | None
    spoiler_text: str  # what filters match
    text: str
    # The viewer's flags (`flag_columns`) on the status, then on the one it boosts, when
    # the query that named it read them.
    viewer_flags: tuple[bool, ...] | None = None


def _flag_bytes(flags: tuple[bool, ...]) -> bytes:
    def word(value: bool) -> str:
        return "true" if value else "false"

    favourited, reblogged, bookmarked, pinned, muted = flags
    return (
        f',"favourited":{word(favourited)},"reblogged":{word(reblogged)},'
        f'"muted":{word(muted)},"bookmarked":{word(bookmarked)},"pinned":{word(pinned)}'
    ).encode()


# Every combination of the viewer's flags (`flag_columns`' order), written once.
_FLAGS = {flags: _flag_bytes(flags) for flags in itertools.product((False, True), repeat=5)}


# The columns of a `Ref`, for the timelines' queries.
REF_COLUMNS = (
    Status.id,
    Status.account_id,
    Status.reblog_of_id,
    Status.application_id,
    Status.spoiler_text,
    Status.text,
)


@functools.cache
def _statements(dialect: str) -> dict[str, Any]:
    """Built once per engine; ids bound at execution."""
    return {
        "refs": select(*REF_COLUMNS).where(in_id_list(Status.id, "ids", dialect)),
        "rows": select(Status).where(in_id_list(Status.id, "ids", dialect)),
    }


async def _refs(session: AsyncSession, ids: Sequence[int]) -> dict[int, Ref]:
    statement = _statements(dialect_of(session))["refs"]
    rows = await session.execute(statement, {"ids": list(ids)})
    return {row.id: Ref(*row) for row in rows.all()}


async def _rows(session: AsyncSession, ids: Sequence[int]) -> list[Status]:
    statement = _statements(dialect_of(session))["rows"]
    return list((await session.scalars(statement, {"ids": list(ids)})).all())


async def status_page(
    session: AsyncSession,
    statuses: Sequence[StatusRef],
    viewer_id: int | None,
    settings: Settings,
    *,
    context: str | None,
    flags: ViewerFlags | None = None,
) -> bytes:
    """The JSON array of `statuses` as `status_entities(..., context=context)` renders them
    for `viewer_id` (a `hide` filter leaves its statuses out), as bytes. `flags`: the
    viewer's flags on the statuses and what they boost, when the caller's query read them."""
    if not statuses:
        return b"[]"
    written = await status_bytes(
        session, statuses, viewer_id, settings, context=context, flags=flags
    )
    if written is None:  # uncommitted changes in this session: render from its own rows
        found = {r.id: r for r in await _rows(session, [s.id for s in statuses])}
        own = [s if isinstance(s, Status) else found[s.id] for s in statuses]
        return orjson.dumps(
            await status_entities(session, own, viewer_id, settings, context=context)
        )
    return joined_page(statuses, written.statuses)


def joined_page(statuses: Sequence[StatusRef], shown: Mapping[int, bytes]) -> bytes:
    """The JSON array of the `statuses` written in `shown`, in order (a status a `hide`
    filter left out is not there)."""
    return b"[" + b",".join(shown[s.id] for s in statuses if s.id in shown) + b"]"


class Written(NamedTuple):
    """Statuses written as bytes for one viewer, with the account entities read for them."""

    statuses: dict[int, bytes]  # by id; a status a `hide` filter leaves out is not here
    accounts: dict[int, bytes]  # by id: the statuses' authors and the accounts asked for
    boosted: dict[int, StatusRef]  # by id: the statuses the page's boosts boost
    # Whether what was written holds parts read from the database rather than from cached
    # entries (a poll's current counts and the viewer's votes).
    read_live: bool


async def refs(session: AsyncSession, ids: Sequence[int]) -> dict[int, Ref]:
    """The `Ref`s of the statuses among `ids` that exist (one query; none for no ids)."""
    return await _refs(session, ids) if ids else {}


async def status_bytes(
    session: AsyncSession,
    statuses: Sequence[StatusRef],
    viewer_id: int | None,
    settings: Settings,
    *,
    context: str | None,
    flags: ViewerFlags | None = None,
    accounts_too: Sequence[int] = (),
) -> Written | None:
    """Each of `statuses` as JSON bytes for `viewer_id` (what `status_page` joins), and the
    account entities of their authors and of `accounts_too` (read in the same `MGET`).
    None when the session holds uncommitted changes: render from its own rows then."""
    cache = entity_cache.of(session)
    if cache is None:
        return None

    if flags is None and viewer_id is not None:
        flags = _flags_read_with(statuses)
    boost_ids = {s.reblog_of_id for s in statuses if s.reblog_of_id is not None}
    boosted: dict[int, StatusRef] = dict(await _refs(session, list(boost_ids))) if boost_ids else {}
    everything = [*statuses, *boosted.values()]
    ids = {s.id for s in everything}
    account_ids = {s.account_id for s in everything} | set(accounts_too)
    wanted = {ACCOUNT: sorted(account_ids), STATUS: sorted(ids)}
    if viewer_id is not None:  # the viewer's filter rules, in the same round trip
        wanted[RULES_KIND] = [viewer_id]
    cached = await cache.get_raw_many(wanted)
    accounts, account_generation = cached[ACCOUNT]
    raw, status_generation = cached[STATUS]
    renderings = {i: value for i, value in raw.items() if is_rendering(value)}

    if missing_accounts := account_ids - accounts.keys():
        rendered = await render_accounts(session, settings, missing_accounts)
        await cache.put_many(ACCOUNT, rendered, account_generation)
        accounts.update({i: orjson.dumps(entity) for i, entity in rendered.items()})
    if missing := sorted(ids - renderings.keys()):
        misses = await _rows(session, missing)
        usernames = {r.account_id: orjson.loads(accounts[r.account_id])["username"] for r in misses}
        fresh = await render_statuses(session, settings, misses, usernames)
        await cache.put_raw_many(STATUS, fresh, status_generation)
        renderings.update(fresh)

    loaded = Loaded()
    polls = [i for i in ids if renderings[i].startswith(WITH_POLL)]
    await load_polls(session, loaded, polls, viewer_id)
    if viewer_id is not None:
        await load_viewer_flags(session, loaded, ids, everything, viewer_id, flags)
        cached_rules = cached[RULES_KIND]
        rules_found = {i: orjson.loads(value) for i, value in cached_rules[0].items()}
        rules = await matching.rules_for(session, viewer_id, cache, (rules_found, cached_rules[1]))
        if rules:
            texts = {s.id: f"{s.spoiler_text}\n{s.text}" for s in everything}
            active = matching.ViewerFilters(rules, context, utcnow())
            apply_filters(loaded, statuses, texts, active)

    writer = _Page(loaded, renderings, accounts, boosted, viewer_id)
    written = {s.id: writer.one(s) for s in statuses if s.id not in loaded.hidden}
    return Written(written, accounts, boosted, bool(polls))


def _flags_read_with(statuses: Sequence[StatusRef]) -> ViewerFlags | None:
    """The flags the page's query read with its statuses (`Ref.viewer_flags`), or None."""
    flags = ViewerFlags()
    for status in statuses:
        read: tuple[bool, ...] | None = getattr(status, "viewer_flags", None)
        if read is None:
            return None
        flags.add(status.id, read[:FLAG_COUNT])
        if status.reblog_of_id is not None:
            flags.add(status.reblog_of_id, read[FLAG_COUNT:])
    return flags


class _Page:
    """Writes each status of one page around its cached rendering."""

    def __init__(
        self,
        loaded: Loaded,
        renderings: Mapping[int, bytes],
        accounts: Mapping[int, bytes],
        boosted: Mapping[int, StatusRef],
        viewer_id: int | None,
    ) -> None:
        self.loaded = loaded
        self.renderings = renderings
        self.accounts = accounts
        self.boosted = boosted
        self.viewer_id = viewer_id

    def one(self, status: StatusRef) -> bytes:
        loaded = self.loaded
        rendering = self.renderings[status.id]
        if rendering.startswith(WITH_POLL):
            poll = viewer_poll(loaded, status.id, self.viewer_id)
            poll_bytes = orjson.dumps(poll)
            rest = rendering[len(WITH_POLL) :]
        else:
            poll_bytes = b"null"
            rest = rendering[len(NO_POLL) :]
        boosted = self.boosted.get(status.reblog_of_id) if status.reblog_of_id else None
        application = (
            application_entity(loaded, status.application_id) if status.application_id else None
        )
        if self.viewer_id is None:
            flags = b""
        else:
            i = status.id
            flags = _FLAGS[
                (
                    i in loaded.favourited,
                    i in loaded.reblogged,
                    i in loaded.bookmarked,
                    i in loaded.pinned,
                    i in loaded.muted,
                )
            ]
        filtered = loaded.filtered.get(status.id)
        return b"".join(
            (
                b'{"poll":',
                poll_bytes,
                b',"account":',
                self.accounts[status.account_id],
                b',"reblog":',
                self.one(boosted) if boosted is not None else b"null",
                b',"application":',
                orjson.dumps(application) if application else b"null",
                flags,
                b',"filtered":',
                orjson.dumps(filtered) if filtered else b"[]",
                b",",
                rest,
            )
        )
