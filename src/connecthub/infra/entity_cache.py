"""Hot entities cached through `Cache` and dropped the moment their rows change.

Domains say which tables feed which cached kind (`track("accounts", "account")`). Session
events then record every change to those rows in the session: ORM objects flushed (new,
changed, deleted) and ORM `UPDATE`/`DELETE` statements whose WHERE names the key column
(`id = x`, `id IN (…)`). After the commit the recorded keys are deleted: awaited by the
unit of work and `Database.transaction` (so the writer's next read sees the change), and
scheduled for any other commit. A statement whose rows cannot be named bumps the kind's
generation instead, which retires every entry of that kind at once. Rollbacks forget what
they recorded.

A reader that loaded a row before a write committed must not store its rendering after
the write's invalidation, however slow it was (a loaded process, a pooler's queue): the
invalidation leaves a mark where the entry was, and a rendering is stored only if its key
was not marked at or after the read that found it missing (infra/cache.py; the kind's
generation handed back to `put_raw_many` carries that read's clock). What the marks cannot
see is a read from a replica that had not replayed the write yet: with read replicas the
invalidation is repeated once `ENTITY_CACHE_REPEAT_SECONDS` later. Entries expire
(`TTL_SECONDS`) whatever happens. Values are JSON (orjson) stamped with the kind's
generation.

An invalidation that fails (the cache is down) never fails the commit it follows: the data
is committed, so the writer gets its success and its events and jobs still go. It is
retried in the background for about half a minute (`RETRY_DELAYS`), which covers a cache
restart or a network blip, and then left to the TTL: retrying longer would hold changes in
memory against a cache that is gone, and a cache that comes back empty holds nothing stale.

A process also keeps its own copies of the entries it read (`near`, a `NearCache` on its
own bus channel, ADR 0042; the in-process bus in embedded mode): a timeline page whose
statuses, authors and filter rules are all held answers without the cache's round trip, and
a home page kept whole (timelines/home_pages.py) is checked against them. Every invalidation drops
the copies in every process as it deletes the shared entries (the repeat too), a copy
filled from a read that raced one is refused, and copies live `NEAR_CACHE_SECONDS` at most.
A kind's generation key is copied even when absent (no bump yet), else no page could skip
the round trip.

Counters. A statement that changes only counters (a post counted on its author, a reply,
a favourite or a boost counted on its status: `COUNTS_ONLY`, `record_update(counts=True)`)
drops the shared entries as any change does, but marks their near copies stale instead of
dropping them (`NearCache.mark_stale`): what was made from them then is behind by a count,
not wrong, and a home page set aside as stale may still be answered while it is made again
(timelines/home_pages.py). Fresh answers are never made from a marked copy.

A session with uncommitted changes renders from its own rows, never through the shared
cache; it keeps what it rendered in a memo of its own (`remembered`, `remember`), which
the same change records drop, so a write path that renders one status for several
recipients (a direct message: response, notification, conversations) loads it once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList

from connecthub.ids import new_id
from connecthub.infra.cache import Cache
from connecthub.infra.near_cache import Held, NearCache

log = structlog.get_logger(__name__)

TTL_SECONDS = 600
# The execution option of an UPDATE that changes counters only (see "Counters" above):
# `statement.execution_options(**COUNTS_ONLY)`.
_COUNTS_OPTION = "connecthub_counts_only"
COUNTS_ONLY = {_COUNTS_OPTION: True}
GENERATION_TTL_SECONDS = 7 * 86400
# Waits before each retry of a failed invalidation (~30 s in all); then the TTL bounds it.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
_PENDING = "connecthub.entity_cache.pending"
_COMMITTED = "connecthub.entity_cache.committed"
# Changes to counters only (`COUNTS_ONLY` statements, `record_update(counts=True)`): their
# near copies are marked stale rather than dropped (see "Counters" above).
_PENDING_COUNTS = "connecthub.entity_cache.pending_counts"
_COMMITTED_COUNTS = "connecthub.entity_cache.committed_counts"
_CACHE = "connecthub.entity_cache"
_MEMO = "connecthub.entity_cache.memo"
_FORGET = "connecthub.entity_cache.forget"
_EVERY = "*"  # "every row of this kind": bump the generation
ENTITY_INVALIDATIONS_CHANNEL = "_near_cache:entities"
_ABSENT = b""  # a near copy of a generation key that is not set (no value is empty)


@dataclass(frozen=True)
class _Tracked:
    kind: str
    column: str
    # False: UPDATE statements never move a row between keys of this kind (the column is
    # never updated, and what the kind depends on is the row's existence), so they are
    # not recorded: without it, every counter bump on `statuses` naming only `id` would
    # retire the whole kind.
    updates: bool = True
    # False: no rendering reads the kind (a value kept near, such as a home page), so a
    # session's uncommitted change to it does not stop that session's reads of the cache.
    rendering: bool = True
    # A column an inserted row must have set for its insert to be recorded (None: every
    # insert is): the rest only add to the kind's entry in a way another path tells of.
    inserts_with: str | None = None


_TRACKED: dict[str, tuple[_Tracked, ...]] = {}
_NOT_RENDERED: set[str] = set()  # kinds tracked with `rendering=False`


def track(
    table: str,
    kind: str,
    column: str = "id",
    *,
    updates: bool = True,
    rendering: bool = True,
    inserts_with: str | None = None,
) -> None:
    """Changes to `table` invalidate the `kind` entry whose id is the row's `column` (a
    table may feed several kinds). `updates=False`: UPDATE statements are not recorded;
    `rendering=False`: no rendering reads the kind; `inserts_with`: only inserts of rows
    with that column set are recorded (see `_Tracked`)."""
    tracked = _Tracked(kind, column, updates, rendering, inserts_with)
    _TRACKED[table] = (*_TRACKED.get(table, ()), tracked)
    if not rendering:
        _NOT_RENDERED.add(kind)


def _key(kind: str, entity_id: int | str) -> str:
    return f"entity:{kind}:{entity_id}"


class _Generation(bytes):
    """A kind's generation as a read found it, and the cache's clock at that read (None:
    no read reached the cache), which `put_raw_many` stores against; and the near copies'
    ticket taken before that read, which it keeps its renderings near with."""

    read_at: int | None = None
    near_ticket: tuple[int | None, int] | None = None


def _generation(
    value: bytes, read_at: int | None, near_ticket: tuple[int | None, int] | None
) -> _Generation:
    generation = _Generation(value)
    generation.read_at = read_at
    generation.near_ticket = near_ticket
    return generation


class EntityCache:
    """Reads and writes cached entities; drops them after the commits that change them."""

    def __init__(
        self, cache: Cache, *, repeat_seconds: float | None = None, near: NearCache | None = None
    ) -> None:
        self.cache = cache
        self.repeat_seconds = repeat_seconds
        self.near = near
        # Process-local values being made now, by key, set when done: a caller that would
        # make the same one waits instead (timelines/home_pages.py).
        self.making: dict[tuple[str, int, Any], asyncio.Event] = {}
        # Those of them made in the background, no reader waiting (timelines/home_pages.py).
        self.refreshing: set[tuple[str, int, Any]] = set()
        # Invalidations under way without a caller awaiting them (after commits nobody
        # settles, retries, repeats), and the repeats not yet started (`stop`).
        self.background: set[asyncio.Task[None]] = set()
        self._retries: set[asyncio.Task[None]] = set()
        self._repeats: set[asyncio.TimerHandle] = set()
        self._stopping = False
        if near is not None:
            near.renew_from(cache.get_many)  # a generation not set is None on both sides

    def get_raw_near(self, kind: str, entity_id: int) -> bytes | None:
        """`get_raw_many` for one entity when this process holds its near copy and its
        kind's generation (no await); None otherwise (`get_raw_many` then decides)."""
        near = self.near
        if near is None:
            return None
        generation = near.get(_key(kind, "gen"))
        value = near.get(_key(kind, entity_id))
        if generation is None or value is None:
            return None
        stamp, _, payload = value.partition(b"|")
        return payload if stamp == (generation or b"0") else None

    async def get_many(
        self, wanted: Mapping[str, Sequence[int]]
    ) -> dict[str, tuple[dict[int, Any], bytes]]:
        """For each kind in `wanted`: (the cached entities among its ids, the kind's
        generation), all in one round trip. Store what is rendered for the misses with that
        generation (`put_many`), so an entry rendered from rows read before a generation
        bump is never served."""
        raw = await self.get_raw_many(wanted)
        return {
            kind: ({i: orjson.loads(payload) for i, payload in found.items()}, generation)
            for kind, (found, generation) in raw.items()
        }

    async def get_raw_many(
        self, wanted: Mapping[str, Sequence[int]]
    ) -> dict[str, tuple[dict[int, bytes], bytes]]:
        """`get_many` without decoding: the stored JSON bytes, for callers that splice them
        into a response as they are."""
        keys: list[str] = []
        for kind, ids in wanted.items():
            keys += [_key(kind, "gen"), *(_key(kind, i) for i in ids)]
        ticket = None if self.near is None else self.near.ticket()
        read, read_at = await self._read(keys)
        values = iter(read)
        answers: dict[str, tuple[dict[int, bytes], bytes]] = {}
        for kind, ids in wanted.items():
            generation = _generation(next(values) or b"0", read_at, ticket)
            found: dict[int, bytes] = {}
            for entity_id in ids:
                value = next(values)
                if value is None:
                    continue
                stamp, _, payload = value.partition(b"|")
                if stamp == generation:
                    found[entity_id] = payload
            answers[kind] = (found, generation)
        return answers

    async def _read(self, keys: list[str]) -> tuple[list[bytes | None], int | None]:
        """The values of `keys`: the near copies, then the shared cache for the rest (one
        round trip, none when every key is held), copied near for the next read; and the
        cache's clock at that round trip (None without one)."""
        near = self.near
        if not keys:
            return [], None
        if near is None:
            return await self.cache.get_many_since(keys)
        held = [near.get(key) for key in keys]
        missing = [i for i, value in enumerate(held) if value is None]
        read_at = None
        if missing:
            ticket = near.ticket()
            fetched, read_at = await self.cache.get_many_since([keys[i] for i in missing])
            for i, source in zip(missing, fetched, strict=True):
                value = _ABSENT if source is None and keys[i].endswith(":gen") else source
                if value is not None:
                    near.put(keys[i], value, ticket, source)
                held[i] = value
        return [value or None for value in held], read_at

    async def put_many(self, kind: str, entities: dict[int, Any], generation: bytes) -> None:
        await self.put_raw_many(kind, {i: orjson.dumps(e) for i, e in entities.items()}, generation)

    async def put_raw_many(self, kind: str, payloads: dict[int, bytes], generation: bytes) -> None:
        """Store JSON bytes already encoded (`put_many` encodes them itself), each unless its
        entry was invalidated since the read `generation` came from (any invalidation still
        marked, for a generation no read of this cache gave)."""
        if payloads:
            items = {_key(kind, i): generation + b"|" + payload for i, payload in payloads.items()}
            since = getattr(generation, "read_at", None) or 0
            await self.cache.set_many_unless_invalidated(items, TTL_SECONDS, since)
            near = self.near
            if near is None:
                return
            ticket = getattr(generation, "near_ticket", None)
            if ticket is None:
                # A copy held here may be of an older generation, and would hide this one.
                near.forget(list(items))
                return
            # Kept near as the shared cache keeps it, unless its key was dropped since the
            # read it was made after (the store above may have been refused then, too): a
            # page of statuses rendered afresh is then held whole at once, where forgetting
            # them meant rendering it once more before it could be kept.
            refused = [k for k, v in items.items() if not near.put(k, v, ticket, source=v)]
            if refused:
                near.forget(refused)

    @staticmethod
    def near_keys(wanted: Mapping[str, Iterable[int]]) -> tuple[str, ...]:
        """The keys of these entries and of their kinds' generations, as held near."""
        return tuple(
            key
            for kind, ids in wanted.items()
            for key in (_key(kind, "gen"), *(_key(kind, i) for i in ids))
        )

    def held_near(self, keys: Sequence[str]) -> Held | None:
        """The near copies under `keys` (`near_keys`), or None unless this process holds
        every one (and None without near copies). An entry that changed was dropped here by
        its invalidation, so the very same copies at two moments (`still_held`) mean none of
        these entries changed between them."""
        return None if self.near is None else self.near.held_all(keys)

    def still_held(self, keys: Sequence[str], held: Held) -> Held | None:
        """`held` (or the same copies as of now) when this process holds these very copies
        under `keys` still; None otherwise."""
        return None if self.near is None else self.near.holds(keys, held)

    def unchanged_near(self, keys: Sequence[str], held: Held) -> bool:
        """No entry under `keys` changed since `held` was taken but for counters (their
        copies marked stale, see "Counters" above); False without near copies."""
        return self.near is not None and self.near.unchanged_since(keys, held.ticket)

    def ticket(self) -> tuple[int | None, int] | None:
        """Taken before reading what a process-local value (`keep_near`) is made from."""
        return None if self.near is None else self.near.ticket()

    def held(self, kind: str, entity_id: int) -> Any | None:
        """A process-local value kept with `keep_near`, unless dropped since."""
        return None if self.near is None else self.near.get(_key(kind, entity_id))

    def keep_near(
        self,
        kind: str,
        entity_id: int,
        value: Any,
        ticket: tuple[int | None, int] | None,
        depends: Sequence[str] = (),
        stale_if_marked: bool = False,
    ) -> None:
        """Keep a value made in this process under an entry's key, near only (nothing goes
        to the shared cache): the kind's invalidations drop it in every process, and it is
        refused when its entry, or one of the near keys it was made from (`depends`), was
        dropped since `ticket` (with `stale_if_marked`, set aside as stale when its entry
        was only `stale_near`ed since: `NearCache.put`)."""
        if self.near is not None and ticket is not None:
            key = _key(kind, entity_id)
            self.near.put(key, value, ticket, depends=depends, stale_if_marked=stale_if_marked)

    async def drop_near(self, kind: str, ids: Sequence[int]) -> None:
        """Drop process-local values (`keep_near`) of these entries in every process."""
        if self.near is not None and ids:
            await self.near.invalidate([_key(kind, i) for i in ids])

    async def stale_near(self, kind: str, ids: Sequence[int]) -> None:
        """As `drop_near`, for values a change only put behind (a home page a new post
        reaches): each is set aside (`held_stale`) rather than dropped."""
        if self.near is not None and ids:
            await self.near.mark_stale([_key(kind, i) for i in ids])

    def held_stale(self, kind: str, entity_id: int) -> Any | None:
        """A value `keep_near` kept that a mark or its expiry set aside since, and no drop
        removed (`NearCache.stale`)."""
        return None if self.near is None else self.near.stale(_key(kind, entity_id))

    async def generation_near(self, kind: str) -> bytes | None:
        """The kind's generation as held near (read through once when not held), or None
        without near copies. A generation bump drops the copy in every process."""
        if self.near is None:
            return None
        held = self.generation_held(kind)
        if held is None:
            await self._read([_key(kind, "gen")])
            held = self.generation_held(kind)
        return held

    def generation_held(self, kind: str) -> bytes | None:
        """`generation_near` when this process holds it (no await); None otherwise."""
        held = None if self.near is None else self.near.get(_key(kind, "gen"))
        return held if isinstance(held, bytes) else None

    async def invalidate(
        self,
        changes: Iterable[tuple[str, int | str]],
        *,
        forget: bool = False,
        counts_only: bool = False,
    ) -> None:
        """Drop the entries `changes` name: marked (see above), or deleted outright when
        `forget` (an erasure's, whose keys must not outlive the rows they name); with
        `counts_only` their near copies are marked stale instead of dropped."""
        if counts_only:
            await self._invalidate((), changes, forget=forget)
        else:
            await self._invalidate(changes, (), forget=forget)

    async def _invalidate(
        self,
        changes: Iterable[tuple[str, int | str]],
        counts: Iterable[tuple[str, int | str]],
        *,
        forget: bool,
    ) -> None:
        """`invalidate` of `changes`, and with `counts_only` of `counts`, in one round trip
        to the shared cache and one message to the other processes (a commit has both: a
        new post is a new status and its author's count)."""
        changed, changed_kinds = await self._keys(changes)
        counted, counted_kinds = await self._keys(counts)
        keys = changed + counted
        if keys and forget:
            await self.cache.delete(*keys)
        elif keys:
            await self.cache.invalidate(keys, TTL_SECONDS)
        if self.near is None:
            return
        drop, stale = changed + changed_kinds + counted_kinds, counted
        if counted_kinds:  # a kind retired whole among the counts: its keys' copies go too
            drop, stale = drop + counted, []
        if drop or stale:
            await self.near.change(drop, stale)

    async def _keys(self, changes: Iterable[tuple[str, int | str]]) -> tuple[list[str], list[str]]:
        """The entry keys `changes` name, and the generation keys of the kinds they retire
        whole (a new generation written for each)."""
        keys: list[str] = []
        generations: list[str] = []
        for kind, entity_id in set(changes):
            if entity_id == _EVERY:
                generation = str(new_id()).encode()
                await self.cache.set(_key(kind, "gen"), generation, GENERATION_TTL_SECONDS)
                generations.append(_key(kind, "gen"))
            else:
                keys.append(_key(kind, entity_id))
        return keys, generations

    async def retire(self, kind: str) -> None:
        """Drop every entry of `kind` (a new generation)."""
        await self.invalidate([(kind, _EVERY)])

    async def retire_all(self) -> None:
        """Drop every entry of every tracked kind (another process changed rows without
        telling this cache: infra/outside_writes.py)."""
        kinds = {tracked.kind for kinds in _TRACKED.values() for tracked in kinds}
        await self.invalidate([(kind, _EVERY) for kind in sorted(kinds)])

    async def after_commit(self, session: Session) -> None:
        """Drop what `session`'s last commit changed (idempotent: each change once), now
        and, with read replicas, again a moment later. Never raises: a failed invalidation
        is retried in the background."""
        changes: set[tuple[str, int | str]] = session.info.pop(_COMMITTED, None) or set()
        counts = (session.info.pop(_COMMITTED_COUNTS, None) or set()) - changes
        if not changes and not counts:
            return
        forget = bool(session.info.get(_FORGET))
        try:
            await self._invalidate(changes, counts, forget=forget)
        except Exception as exc:
            everything = changes | counts
            log.warning("entity_cache.invalidation_failed", keys=len(everything), error=str(exc))
            if not self._stopping:
                retry = self.in_background(self._retry(list(everything), forget))
                self._retries.add(retry)
                retry.add_done_callback(self._retries.discard)
            return
        self._repeat_later(changes | counts, forget)

    def _repeat_later(self, changes: Iterable[tuple[str, int | str]], forget: bool) -> None:
        if self.repeat_seconds is None or self._stopping:  # no replicas: the marks suffice
            return
        keys = [change for change in changes if change[1] != _EVERY]
        if not keys:
            return
        handle: asyncio.TimerHandle

        def start() -> None:
            self._repeats.discard(handle)
            self.in_background(self._repeat(keys, forget))

        handle = asyncio.get_running_loop().call_later(self.repeat_seconds, start)
        self._repeats.add(handle)

    def in_background(
        self, work: Coroutine[Any, Any, None], loop: Any = None
    ) -> asyncio.Task[None]:
        """Run `work` without awaiting it, keeping a reference until it ends."""
        task = (loop or asyncio.get_running_loop()).create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def stop(self) -> None:
        """Before the engines close: the invalidations under way finish, while the retries
        waiting for Redis to come back and the repeats not yet due are cancelled, and none
        start from here (they would run on closed engines, a test's on the event loop the
        next tests share; the TTL bounds what they would have dropped, as when a process
        ends)."""
        self._stopping = True
        for task in self._retries:
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        for handle in self._repeats:
            handle.cancel()
        self._repeats.clear()

    async def _retry(self, changes: list[tuple[str, int | str]], forget: bool) -> None:
        for delay in RETRY_DELAYS:
            await asyncio.sleep(delay)
            try:
                await self.invalidate(changes, forget=forget)
            except Exception:  # noqa: S112 - still down: wait longer
                continue
            log.info("entity_cache.invalidation_retried", keys=len(changes))
            self._repeat_later(changes, forget)
            return
        log.warning("entity_cache.invalidation_abandoned", keys=len(changes), ttl=TTL_SECONDS)

    async def _repeat(self, changes: list[tuple[str, int | str]], forget: bool) -> None:
        with contextlib.suppress(Exception):  # best effort: the TTL still bounds staleness
            await self.invalidate(changes, forget=forget)


def of(session: Any) -> EntityCache | None:
    """The entity cache a session was opened with (`Database.session`), or None when there
    is none or the session has changed tracked rows it has not committed yet: what it
    renders then must come from its own rows, and must not be cached for others."""
    sync: Session = getattr(session, "sync_session", session)
    pending: set[tuple[str, int | str]] = sync.info.get(_PENDING) or set()
    if (
        sync.info.get(_PENDING_COUNTS)
        or any(kind not in _NOT_RENDERED for kind, _ in pending)
        or sync.new
        or sync.deleted
        or any(_table_of(instance) in _TRACKED for instance in sync.dirty)
    ):
        return None
    cache: EntityCache | None = sync.info.get(_CACHE)
    return cache


def remembered(session: Any, kind: str, ids: Iterable[int]) -> dict[int, Any]:
    """What this session rendered earlier of `kind` among `ids`, leaving out rows it has
    changed and not flushed yet (flushed changes already dropped their entries)."""
    sync: Session = getattr(session, "sync_session", session)
    memo: dict[int, Any] = sync.info.get(_MEMO, {}).get(kind, {})
    if not memo:
        return {}
    changed = {key for instance in sync.dirty for key in _changed_keys(instance)}
    return {i: memo[i] for i in ids if i in memo and (kind, i) not in changed}


def remember(session: Any, kind: str, entities: Mapping[int, Any]) -> None:
    sync: Session = getattr(session, "sync_session", session)
    sync.info.setdefault(_MEMO, {}).setdefault(kind, {}).update(entities)


def retire_on_commit(session: Any, *kinds: str) -> None:
    """Every entry of `kinds` goes when this session commits (a new generation): for a
    change that reaches renderings no row names, such as a custom emoji they show."""
    sync: Session = getattr(session, "sync_session", session)
    for kind in kinds:
        _record(sync, _Tracked(kind, "id"), _EVERY)


def drop_on_commit(session: Any, kind: str, ids: Iterable[int]) -> None:
    """The entries of `kind` for `ids` are deleted when this session commits: for a change
    to rows that feed them through a statement that does not name them."""
    sync: Session = getattr(session, "sync_session", session)
    for entity_id in ids:
        _record(sync, _Tracked(kind, "id"), entity_id)


def record_update(session: Any, table: str, ids: Iterable[int], *, counts: bool = False) -> None:
    """Rows `ids` of `table` updated by a statement built once, whose WHERE binds its key at
    execution (the statement hook sees no value there): recorded as the hook records an
    UPDATE that names its keys; `counts`: the update changed counters only (see above)."""
    sync: Session = getattr(session, "sync_session", session)
    for tracked in _TRACKED.get(table, ()):
        if tracked.updates and tracked.column == "id":
            for entity_id in ids:
                _record(sync, tracked, entity_id, counts=counts)


def forget_on_commit(session: Any) -> None:
    """This session's commits delete the entries they change instead of marking them: an
    erasure's, where a mark under a key that names an erased row would itself be a trace
    of it (a slow reader's late fill is then left to the TTL, as before the marks)."""
    sync: Session = getattr(session, "sync_session", session)
    sync.info[_FORGET] = True


def drop_account_on_commit(session: Any, account_id: int) -> None:
    """Every entry keyed by the account's id (its profile, credentials, filter rules…),
    deleted when this session commits: an erased account leaves no rendering behind, not
    even one a generation bump has retired."""
    kinds = {
        tracked.kind
        for table, kinds in _TRACKED.items()
        for tracked in kinds
        if tracked.column == "account_id" or table == "accounts"
    }
    for kind in kinds:
        drop_on_commit(session, kind, [account_id])


def _changed_keys(instance: object) -> list[tuple[str, object]]:
    return [
        (tracked.kind, getattr(instance, tracked.column, None))
        for tracked in _TRACKED.get(_table_of(instance), ())
    ]


def attach(session: Any, cache: EntityCache | None) -> None:
    if cache is not None:
        getattr(session, "sync_session", session).info[_CACHE] = cache


async def settle(session: Any) -> None:
    """Await the invalidations of `session`'s last commit (unit of work, transactions)."""
    cache = of(session)
    if cache is not None:
        await cache.after_commit(getattr(session, "sync_session", session))


# Recording changes


def _record(session: Session, tracked: _Tracked, value: object, *, counts: bool = False) -> None:
    if value is None:
        return
    entity_id: int | str = _EVERY if value == _EVERY else int(str(value))
    where = _PENDING_COUNTS if counts and entity_id != _EVERY else _PENDING
    pending: set[tuple[str, int | str]] = session.info.setdefault(where, set())
    pending.add((tracked.kind, entity_id))
    memo = session.info.get(_MEMO, {})
    if entity_id == _EVERY:
        memo.pop(tracked.kind, None)
    else:
        memo.get(tracked.kind, {}).pop(entity_id, None)


def _table_of(instance: object) -> str:
    return str(getattr(getattr(instance, "__table__", None), "name", ""))


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    for instance in session.new:
        _record_row(session, instance, inserted=True)
    changed = [*session.deleted]
    changed += [instance for instance in session.dirty if session.is_modified(instance)]
    for instance in changed:
        _record_row(session, instance)


def _record_row(session: Session, instance: object, *, inserted: bool = False) -> None:
    for tracked in _TRACKED.get(_table_of(instance), ()):
        if inserted and tracked.inserts_with and getattr(instance, tracked.inserts_with) is None:
            continue
        _record(session, tracked, getattr(instance, tracked.column, None))


def record_insert(session: Any, instance: object) -> None:
    """A new row inserted by a statement (infra/db.insert_as_loaded), not an ORM flush:
    recorded as the flush hook records a new object."""
    _record_row(getattr(session, "sync_session", session), instance, inserted=True)


def _named_ids(clause: Any, column: str) -> list[Any] | None:
    """The key values a WHERE clause pins down (`col = v`, `col IN (…)`, either inside an
    AND), or None when it does not."""
    if isinstance(clause, BooleanClauseList) and clause.operator is operators.and_:
        for part in clause.clauses:
            found = _named_ids(part, column)
            if found is not None:
                return found
        return None
    if not isinstance(clause, BinaryExpression):
        return None
    left, right = clause.left, clause.right
    if getattr(left, "key", None) != column or not isinstance(right, BindParameter):
        return None
    if clause.operator is operators.eq:
        return [right.effective_value]
    if clause.operator is operators.in_op:
        return list(right.effective_value or [])
    return None


def _record_inserted(state: ORMExecuteState, name: str) -> None:
    """Rows an INSERT statement adds (`insert_once`, bulk inserts: no ORM flush sees them),
    by the values bound at execution. A row's own new id names nothing cached yet; a
    foreign key does (a thread mute or a hashtag follow changes the viewer's home), and
    an insert whose values do not name it retires the kind."""
    foreign = [tracked for tracked in _TRACKED.get(name, ()) if tracked.column != "id"]
    if not foreign:
        return  # most inserts (jobs, notifications, a status's own row by its id)
    params = state.parameters
    rows = params if isinstance(params, (list, tuple)) else [params]
    for tracked in foreign:
        for row in rows:
            named: Mapping[str, Any] = row if isinstance(row, Mapping) else {}
            if named and tracked.inserts_with and named.get(tracked.inserts_with) is None:
                continue
            value = named.get(tracked.column)
            _record(state.session, tracked, _EVERY if value is None else value)


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", "")
    if state.is_insert:
        _record_inserted(state, name)
        return
    if not (state.is_update or state.is_delete):
        return
    counts = state.is_update and bool(state.execution_options.get(_COUNTS_OPTION))
    for tracked in _TRACKED.get(name, ()):
        if state.is_update and not tracked.updates:
            continue
        ids = _named_ids(getattr(state.statement, "whereclause", None), tracked.column)
        for value in [_EVERY] if ids is None else ids:
            _record(state.session, tracked, value, counts=counts)


@event.listens_for(Session, "after_commit")
def _on_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT released: nothing is visible to others until the real commit
    pending = session.info.pop(_PENDING, None)
    counts = session.info.pop(_PENDING_COUNTS, None)
    if not pending and not counts:
        return
    if pending:
        session.info.setdefault(_COMMITTED, set()).update(pending)
    if counts:
        session.info.setdefault(_COMMITTED_COUNTS, set()).update(counts)
    cache: EntityCache | None = session.info.get(_CACHE)
    if cache is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    # For commits nobody awaits `settle` after; a settled commit leaves nothing to do.
    cache.in_background(cache.after_commit(session), loop)


@event.listens_for(Session, "after_rollback")
def _on_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_PENDING_COUNTS, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rendered(session: Session, _previous: object) -> None:
    # Also a SAVEPOINT's rollback: what was rendered from its rows is gone with them.
    session.info.pop(_MEMO, None)
