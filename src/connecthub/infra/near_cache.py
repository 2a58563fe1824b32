"""Process-local copies of hot shared-cache entries, dropped everywhere by broadcast.

Bearer tokens in distributed mode; entity-cache entries in both modes (ADR 0042,
timelines/home_pages.py). A copy is kept for at most `ttl` seconds and only while the event
bus is connected: invalidations travel on one bus channel (the in-process bus in embedded
mode), so a copy made before a reconnect could have missed one and is not used afterwards.
A fill that raced an invalidation (read the shared cache, then heard the key dropped) is not
kept either: callers take a `ticket()` before reading the source and pass it to `put()`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, NamedTuple

import structlog

from connecthub.clock import monotonic
from connecthub.infra.events import EventBus, Subscription

log = structlog.get_logger(__name__)

INVALIDATIONS_CHANNEL = "_near_cache:invalidations"


class Held(NamedTuple):
    """Values held near under some keys (`NearCache.held_all`), as of one moment."""

    values: tuple[Any, ...]
    ticket: tuple[int | None, int]  # nothing dropped since, while the ticket is the same
    until: float  # the earliest expiry among them (monotonic seconds)


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
        self._capacity = capacity
        # key -> (expires at, bus connection epoch when filled, value)
        self._entries: OrderedDict[str, tuple[float, int, Any]] = OrderedDict()
        self._invalidations = 0  # invalidations applied here, for tickets
        self._subscription: Subscription | None = None
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = False  # no copy is kept while the listener is not subscribed
        self.overflows = 0  # times the listener fell behind and started afresh

    def get(self, key: str) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, epoch, value = entry
        if expires < monotonic() or epoch != self._events.connection_epoch:
            del self._entries[key]
            return None
        return value

    def held_all(self, keys: Sequence[str]) -> Held | None:
        """The values under all `keys` when every one is held; None otherwise. One clock
        read for them all: a kept home page checks some 40 (timelines/home_pages.py)."""
        entries = self._entries
        now = monotonic()
        epoch = self._events.connection_epoch
        values = []
        until = now + self._ttl
        for key in keys:
            entry = entries.get(key)
            if entry is None or entry[0] < now or entry[1] != epoch:
                return None
            values.append(entry[2])
            until = min(until, entry[0])
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

    def ticket(self) -> tuple[int | None, int]:
        return self._events.connection_epoch, self._invalidations

    def put(self, key: str, value: Any, ticket: tuple[int | None, int]) -> None:
        """Keep `value`, unless the bus reconnected or an invalidation arrived since
        `ticket` was taken (the value may be one it dropped)."""
        epoch = ticket[0]
        if epoch is None or ticket != self.ticket() or not self._listening:
            return
        self._entries[key] = (monotonic() + self._ttl, epoch, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    async def invalidate(self, keys: list[str]) -> None:
        """Drop `keys` here at once and in every other process through the bus."""
        self._drop(keys)
        await self._events.publish(self._channel, {"keys": keys})

    def forget(self, keys: list[str]) -> None:
        """Drop `keys` in this process only (a newer value went to the shared cache: the next
        read here fetches it)."""
        self._drop(keys)

    def _drop(self, keys: list[str]) -> None:
        self._invalidations += 1
        for key in keys:
            self._entries.pop(key, None)

    @property
    def _listening(self) -> bool:
        return self._subscribed and self._listener is not None and not self._listener.done()

    async def start(self) -> None:
        self._subscription = await self._subscribe()
        self._listener = asyncio.create_task(self._listen(), name="near-cache")

    async def _subscribe(self) -> Subscription:
        subscription = await self._events.subscribe(self._channel, max_pending=10_000)
        # Tickets taken before this point may have missed invalidations: their fills fail.
        self._invalidations += 1
        self._subscribed = True
        return subscription

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._subscription is not None:
            await self._subscription.close()
        self._entries.clear()

    async def _listen(self) -> None:
        while self._subscription is not None:
            async for event in self._subscription:
                keys = event.get("keys")
                if isinstance(keys, list):
                    self._drop([key for key in keys if isinstance(key, str)])
            # Overflowed (invalidations arrived faster than this loop read them, as when the
            # process was paused or starved under load): what is held may be stale. Drop it
            # all and listen afresh; nothing is kept until the new subscription is in place.
            # (It used to stop keeping copies until the process restarted: from then on every
            # read went to the shared cache, and every home page was read again.)
            self._subscribed = False
            self.overflows += 1
            self._entries.clear()  # fills begun before are refused: `_subscribe` bumps
            log.warning("near_cache.overflowed", channel=self._channel, times=self.overflows)
            old, self._subscription = self._subscription, None
            await old.close()
            self._subscription = await self._subscribe()
