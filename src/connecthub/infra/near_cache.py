"""Process-local copies of hot shared-cache entries, dropped everywhere by broadcast.

Bearer tokens in distributed mode; entity-cache entries in both modes (ADR 0042,
timelines/home_pages.py). A copy is kept for at most `ttl` seconds and only while the event
bus is connected: invalidations travel on one bus channel (the in-process bus in embedded
mode), so a copy made before a reconnect could have missed one and is not used afterwards.
A fill that raced an invalidation (read the shared cache, then heard the key dropped) is not
kept either: callers take a `ticket()` before reading the source and pass it to `put()`,
which refuses the value when its key, or any key it was made from (`depends`), was dropped
since. The drops are remembered key by key (the last `DROPS_REMEMBERED`): refusing every
fill that overlapped any drop, as a single counter did, meant that after a burst of posts
the renderings stored by concurrent reads refused each other's copies, and no home page was
kept until the reads stopped overlapping.

Copies of shared entries are renewed before they expire (`renew_from`): a copy read in its
last third of life is checked against the shared cache in the background (the keys due
gathered into one read) and kept another `ttl` when the shared value is still the one it
was copied from. Without it every copy filled in the same moment (a warm-up, the first
reads after a burst of writes) expired in the same moment too, and all the requests they
answered went the long way at once: home's p99 at 64 connections was 120-190 ms over a
minute against 36 ms with copies kept five minutes (docs/benchmarks.md). Values made in the
process (`put` without a `source`, such as a home page) are not renewed; their lives are
spread over the last quarter of `ttl` so that they do not all end together either.

A value may be marked stale instead of dropped (`mark_stale`) when a change only puts what
was made from it behind (a new post reaching a home page, a counter moving): fills that
raced the mark are refused as after a drop, and the copy is no longer answered as held, but
it stays aside (`stale`) until a new value or a drop of its key removes it, or `STALE_LIFE`
times the TTL has passed; a value made in the process that expires is set aside the same
way. `unchanged_since` says whether keys saw anything but marks since a ticket. Home pages
use them (timelines/home_pages.py): while a process is busy rendering pages, a page only
behind is answered at once and rendered again in the background; after a burst of posts
every read used to wait for a rendering (home's p99 at 64 connections 100-160 ms against
~25 ms without posts; docs/benchmarks.md, "Pages only behind").
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple

import structlog

from connecthub.clock import monotonic
from connecthub.core.tasks import cancel_and_wait
from connecthub.infra.events import EventBus, Subscription

log = structlog.get_logger(__name__)

INVALIDATIONS_CHANNEL = "_near_cache:invalidations"

# The `source` of a value made in the process (nothing in the shared cache to check it
# against): never renewed.
NEAR_ONLY: Any = object()
# Reads the shared cache's values of some keys, in order (None: not there).
SharedRead = Callable[[list[str]], Awaitable[Sequence[bytes | None]]]
# The keys due for renewal are gathered this long before the one read that checks them.
RENEWAL_GATHER_SECONDS = 0.05
# After a renewal read failed (the shared cache down), this long before the next.
RENEWAL_RETRY_SECONDS = 1.0
# The keys dropped most recently whose drops a fill is checked against; a ticket taken
# before the oldest of them refuses every fill (what it missed is no longer known).
DROPS_REMEMBERED = 50_000
# A value set aside as stale may be asked for (`stale`) until this many times the TTL after
# it was kept: past its own expiry too, as time alone makes it behind, not wrong.
STALE_LIFE = 10
_NEVER = (0, 0)  # the drop counts of a key never dropped


class Held(NamedTuple):
    """Values held near under some keys (`NearCache.held_all`), as of one moment."""

    values: tuple[Any, ...]
    ticket: tuple[int | None, int]  # nothing dropped since, while the ticket is the same
    # Monotonic seconds until which they are known held without a look at each: the earliest
    # expiry among them, or the start of a renewable copy's renewal window if sooner.
    until: float


class NearCache:
    def __init__(
        self,
        events: EventBus,
        ttl_seconds: float,
        capacity: int,
        channel: str = INVALIDATIONS_CHANNEL,
    ) -> None:
        self._events = events
        self._channel = channel
        self._ttl = ttl_seconds
        self._renew_within = ttl_seconds / 3
        self._stale_extra = ttl_seconds * (STALE_LIFE - 1)
        self._capacity = capacity
        # key -> (expires at, bus connection epoch when filled, value, the shared cache's
        # value it was copied from or NEAR_ONLY)
        self._entries: OrderedDict[str, tuple[float, int, Any, Any]] = OrderedDict()
        # key -> an entry of `_entries` a `mark_stale` set aside (the oldest first)
        self._stale: OrderedDict[str, tuple[float, int, Any, Any]] = OrderedDict()
        self._read_shared: SharedRead | None = None
        self._due: set[str] = set()  # keys to renew at the next renewal read
        self._renewing: set[str] = set()  # keys that read is checking now
        self._wake = asyncio.Event()
        self._renewer: asyncio.Task[None] | None = None
        self._invalidations = 0  # invalidations applied here, for tickets
        # key -> the `_invalidations` counts of its last drop and of its last drop not a
        # `mark_stale`, the oldest first
        self._drops: OrderedDict[str, tuple[int, int]] = OrderedDict()
        self._drops_known_since = 0  # a ticket older than this can be checked no more
        self._subscription: Subscription | None = None
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = False  # no copy is kept while the listener is not subscribed
        self.overflows = 0  # times the listener fell behind and started afresh
        # Names this cache's invalidations on the bus: their echo is not applied again.
        self._origin = secrets.token_hex(8)

    def renew_from(self, read_shared: SharedRead) -> None:
        """Renew copies put with a `source` from what `read_shared` answers (see above)."""
        self._read_shared = read_shared

    def get(self, key: str) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, epoch, value, source = entry
        now = monotonic()
        if expires < now or epoch != self._events.connection_epoch:
            del self._entries[key]
            if source is NEAR_ONLY and epoch == self._events.connection_epoch:
                self._set_aside(key, entry)  # out of date by time alone: behind, not wrong
            return None
        if expires - now < self._renew_within and source is not NEAR_ONLY:
            self._renew(key)
        return value

    def stale(self, key: str) -> Any | None:
        """The value a `mark_stale` of `key` set aside (or, made in the process, its expiry),
        until `STALE_LIFE` times `ttl` after it was kept, unless replaced by a new value or
        dropped; None otherwise."""
        entry = self._stale.get(key)
        if entry is None:
            return None
        if entry[0] + self._stale_extra < monotonic() or entry[1] != self._events.connection_epoch:
            del self._stale[key]
            return None
        return entry[2]

    def _set_aside(self, key: str, entry: tuple[float, int, Any, Any]) -> None:
        stale = self._stale
        stale[key] = entry
        stale.move_to_end(key)
        while len(stale) > self._capacity:
            stale.popitem(last=False)

    def held_all(self, keys: Sequence[str]) -> Held | None:
        """The values under all `keys` when every one is held; None otherwise. One clock
        read for them all: a kept home page checks some 40 (timelines/home_pages.py)."""
        entries = self._entries
        now = monotonic()
        epoch = self._events.connection_epoch
        values = []
        until = now + self._ttl
        renew_within = self._renew_within
        for key in keys:
            entry = entries.get(key)
            if entry is None or entry[0] < now or entry[1] != epoch:
                return None
            values.append(entry[2])
            if entry[3] is NEAR_ONLY:
                quick_until = entry[0]
            else:
                quick_until = entry[0] - renew_within
                if quick_until <= now:
                    self._renew(key)
            if quick_until < until:
                until = quick_until
        return Held(tuple(values), (epoch, self._invalidations), until)

    def holds(self, keys: Sequence[str], held: Held) -> Held | None:
        """`held` when every key is held still with the very value it gave (a value dropped
        and read again is another object, even with equal bytes): at once when nothing was
        dropped here since and none of them expired, else key by key (then a `Held` of
        now, for the next check to be the quick one). None when any is not."""
        if held.ticket == self.ticket() and monotonic() < held.until:
            return held
        now = self.held_all(keys)
        if now is None or len(now.values) != len(held.values):
            return None
        if not all(a is b for a, b in zip(now.values, held.values, strict=True)):
            return None
        return now

    def unchanged_since(self, keys: Sequence[str], ticket: tuple[int | None, int]) -> bool:
        """No key was dropped since `ticket` but by `mark_stale`s (a value made from them
        then is behind, not wrong), and the bus did not reconnect."""
        epoch, taken = ticket
        if epoch is None or epoch != self._events.connection_epoch or not self._listening:
            return False
        if taken == self._invalidations:
            return True
        if taken < self._drops_known_since:
            return False
        drops = self._drops
        return all(drops.get(key, _NEVER)[1] <= taken for key in keys)

    def ticket(self) -> tuple[int | None, int]:
        return self._events.connection_epoch, self._invalidations

    def put(
        self,
        key: str,
        value: Any,
        ticket: tuple[int | None, int],
        source: Any = NEAR_ONLY,
        depends: Sequence[str] = (),
        stale_if_marked: bool = False,
    ) -> bool:
        """Keep `value`, unless the bus reconnected since `ticket` was taken, or `key` or
        any of `depends` (the entries it was made from) was dropped since (the value may be
        one such a drop retired). `source`: the shared cache's value it was made from
        (None: the key was not there), for its renewal. Whether it was kept. With
        `stale_if_marked`, a value refused only for `mark_stale`s (of `key` or `depends`) is
        set aside as the stale one instead (newer than what it replaces, as far behind)."""
        epoch, taken = ticket
        if epoch is None or epoch != self._events.connection_epoch or not self._listening:
            return False
        if taken != self._invalidations:
            if taken < self._drops_known_since:
                return False
            drops = self._drops
            marked = False
            for k in (key, *depends):
                dropped, hard = drops.get(k, _NEVER)
                if hard > taken:
                    return False
                marked = marked or dropped > taken
            if marked:
                if stale_if_marked:
                    self._set_aside(key, (monotonic() + self._ttl, epoch, value, source))
                return False
        ttl = self._ttl
        if source is NEAR_ONLY:
            ttl -= ttl * 0.25 * random.random()  # a spread, not a secret
        self._entries[key] = (monotonic() + ttl, epoch, value, source)
        self._entries.move_to_end(key)
        self._stale.pop(key, None)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return True

    def _renew(self, key: str) -> None:
        if self._read_shared is not None and key not in self._due and key not in self._renewing:
            self._due.add(key)
            self._wake.set()

    async def _renew_due(self) -> None:
        """Checks the copies due for renewal against the shared cache, in one read, and
        keeps those still equal to it another `ttl`. A copy dropped or replaced while the
        read was out is left as it is now (gone, or the newer one)."""
        read_shared = self._read_shared
        assert read_shared is not None
        while True:
            await self._wake.wait()
            await asyncio.sleep(RENEWAL_GATHER_SECONDS)
            self._wake.clear()
            keys, self._due = list(self._due), set()
            self._renewing = set(keys)
            seen = [self._entries.get(key) for key in keys]
            try:
                shared = await read_shared(keys)
            except Exception as exc:  # the shared cache is down: the copies expire
                log.warning("near_cache.renewal_failed", error=str(exc), keys=len(keys))
                await asyncio.sleep(RENEWAL_RETRY_SECONDS)
                continue
            finally:
                self._renewing = set()
            until = monotonic() + self._ttl
            entries = self._entries
            epoch = self._events.connection_epoch
            for key, entry, value in zip(keys, seen, shared, strict=True):
                if entry is None or entries.get(key) is not entry or entry[1] != epoch:
                    continue
                if value == entry[3]:
                    entries[key] = (until, entry[1], entry[2], entry[3])
                    entries.move_to_end(key)

    async def invalidate(self, keys: list[str]) -> None:
        """Drop `keys` here at once and in every other process through the bus. The callers
        change the shared value first, so a copy read here after this drop is fresh: the
        message's echo back to this process is not applied again (it would refuse fills
        made since, such as a home page kept right after a post)."""
        await self.change(keys, [])

    async def mark_stale(self, keys: list[str]) -> None:
        """As `invalidate`, but each key's copy (if any) is set aside as stale rather than
        dropped, here and in every other process (see above)."""
        await self.change([], keys)

    async def change(self, dropped: list[str], stale: list[str]) -> None:
        """`invalidate` of `dropped` and `mark_stale` of `stale`, in one message."""
        message: dict[str, Any] = {"from": self._origin}
        if dropped:
            self._drop(dropped)
            message["keys"] = dropped
        if stale:
            self._drop(stale, keep_stale=True)
            message["stale"] = stale
        await self._events.publish(self._channel, message)

    def forget(self, keys: list[str]) -> None:
        """Drop `keys` in this process only (a newer value went to the shared cache: the next
        read here fetches it)."""
        self._drop(keys)

    def forget_all(self) -> None:
        """Drop every copy in this process only, and refuse every fill whose ticket was
        taken before: another process changed what any of them may have been made from
        without a word on the bus (infra/outside_writes.py)."""
        self._invalidations += 1
        self._drops_known_since = self._invalidations
        self._entries.clear()
        self._stale.clear()
        self._drops.clear()
        self._due.clear()

    def _drop(self, keys: list[str], *, keep_stale: bool = False) -> None:
        self._invalidations += 1
        count = self._invalidations
        entries, drops, stale = self._entries, self._drops, self._stale
        for key in keys:
            entry = entries.pop(key, None)
            if not keep_stale:
                stale.pop(key, None)
            elif entry is not None:
                self._set_aside(key, entry)
            drops[key] = (count, drops.get(key, _NEVER)[1] if keep_stale else count)
            drops.move_to_end(key)
        while len(drops) > DROPS_REMEMBERED:
            _, (forgotten, _) = drops.popitem(last=False)
            self._drops_known_since = max(self._drops_known_since, forgotten)

    @property
    def _listening(self) -> bool:
        return self._subscribed and self._listener is not None and not self._listener.done()

    async def start(self) -> None:
        self._subscription = await self._subscribe()
        self._listener = asyncio.create_task(self._listen(), name="near-cache")
        if self._read_shared is not None:
            self._wake = asyncio.Event()  # of this loop (a stopped cache may start in another)
            if self._due:
                self._wake.set()
            self._renewer = asyncio.create_task(self._renew_due(), name="near-cache-renewal")

    async def _subscribe(self) -> Subscription:
        subscription = await self._events.subscribe(self._channel, max_pending=10_000)
        # Tickets taken before this point may have missed invalidations: their fills fail.
        self._invalidations += 1
        self._drops_known_since = self._invalidations
        self._subscribed = True
        return subscription

    async def stop(self) -> None:
        await cancel_and_wait(self._renewer, self._listener)
        if self._subscription is not None:
            await self._subscription.close()
        self._entries.clear()
        self._stale.clear()

    async def _listen(self) -> None:
        while self._subscription is not None:
            async for event in self._subscription:
                if event.get("from") == self._origin:
                    continue
                keys = event.get("keys")
                if isinstance(keys, list):
                    self._drop([key for key in keys if isinstance(key, str)])
                stale = event.get("stale")
                if isinstance(stale, list):
                    self._drop([key for key in stale if isinstance(key, str)], keep_stale=True)
            # Overflowed (invalidations arrived faster than this loop read them, as when the
            # process was paused or starved under load): what is held may be stale. Drop it
            # all and listen afresh; nothing is kept until the new subscription is in place.
            # (It used to stop keeping copies until the process restarted: from then on every
            # read went to the shared cache, and every home page was read again.)
            self._subscribed = False
            self.overflows += 1
            self._entries.clear()  # fills begun before are refused: `_subscribe` bumps
            self._stale.clear()
            log.warning("near_cache.overflowed", channel=self._channel, times=self.overflows)
            old, self._subscription = self._subscription, None
            await old.close()
            self._subscription = await self._subscribe()
