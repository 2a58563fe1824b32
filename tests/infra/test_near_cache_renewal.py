"""Copies of shared entries renewed before they expire: a copy read in its last third of life
is checked against the shared cache in the background and kept another `ttl` while the
shared value is the one it was copied from; never when that value changed, was dropped, or
the copy was dropped or replaced while the check was out; values made in the process are
never renewed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from connecthub.infra import near_cache
from connecthub.infra.cache import MemoryCache
from connecthub.infra.entity_cache import EntityCache
from connecthub.infra.events import InProcessEventBus
from connecthub.infra.near_cache import NearCache


class Shared:
    """The shared cache's values, counting the reads the renewal makes."""

    def __init__(self, values: dict[str, bytes]) -> None:
        self.values = values
        self.reads: list[list[str]] = []
        self.during_read: list[str] = []  # keys invalidated while a read is out
        self.cache: NearCache | None = None  # the near cache those invalidations reach

    async def read(self, keys: list[str]) -> Sequence[bytes | None]:
        self.reads.append(sorted(keys))
        await asyncio.sleep(0)
        for key in self.during_read:
            assert self.cache is not None
            await self.cache.invalidate([key])
        return [self.values.get(key) for key in keys]


@pytest.fixture
async def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(near_cache, "monotonic", lambda: now[0])
    monkeypatch.setattr(near_cache, "RENEWAL_GATHER_SECONDS", 0)
    return now


async def _near(shared: Shared) -> NearCache:
    near = shared.cache = NearCache(InProcessEventBus(), ttl_seconds=30, capacity=100)
    near.renew_from(shared.read)
    await near.start()
    return near


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_copy_read_late_in_its_life_is_kept_while_the_shared_value_is_the_same(clock):
    shared = Shared({"a": b"1", "b": b"2"})
    cache = await _near(shared)
    try:
        for key, value in shared.values.items():
            cache.put(key, value, cache.ticket(), source=value)
        clock[0] = 1015.0  # not yet in the last third: nothing to check
        assert cache.get("a") == b"1"
        await _settle()
        assert shared.reads == []

        clock[0] = 1025.0
        assert cache.get("a") == b"1"
        assert cache.get("b") == b"2"
        assert cache.get("a") == b"1"  # asked twice, checked once
        await _settle()
        assert shared.reads == [["a", "b"]]  # one read for the keys due together

        clock[0] = 1050.0  # past the first life: renewed at 1025 for 30 s more
        assert cache.get("a") == b"1"
        clock[0] = 1056.0
        assert cache.get("a") is None  # read at 1050 (due), but nothing ran the renewal
    finally:
        await cache.stop()


async def test_a_copy_whose_shared_value_changed_or_went_is_not_renewed(clock):
    shared = Shared({"a": b"1", "b": b"2", "gen": b""})
    cache = await _near(shared)
    try:
        cache.put("a", b"1", cache.ticket(), source=b"1")
        cache.put("b", b"2", cache.ticket(), source=b"2")
        cache.put("gen", b"", cache.ticket(), source=None)  # not set in the shared cache
        shared.values = {"a": b"1 changed"}  # "b" gone (evicted, or marked invalidated)
        clock[0] = 1025.0
        for key in ("a", "b", "gen"):
            assert cache.get(key) is not None
        await _settle()
        clock[0] = 1031.0
        assert cache.get("a") is None
        assert cache.get("b") is None
        assert cache.get("gen") == b""  # still not set: the same as when it was copied
    finally:
        await cache.stop()


async def test_a_copy_dropped_while_its_check_was_out_stays_dropped(clock):
    shared = Shared({"a": b"1"})
    cache = await _near(shared)
    try:
        cache.put("a", b"1", cache.ticket(), source=b"1")
        shared.during_read = ["a"]  # its invalidation arrives while the read is out
        clock[0] = 1025.0
        assert cache.get("a") == b"1"
        await _settle()
        assert shared.reads == [["a"]]
        assert cache.get("a") is None
    finally:
        await cache.stop()


async def test_values_made_in_the_process_are_never_checked(clock):
    shared = Shared({"page": b"1"})
    cache = await _near(shared)
    try:
        cache.put("page", object(), cache.ticket())
        clock[0] = 1021.0  # in the last third, and alive whatever its spread (22.5-30 s)
        assert cache.get("page") is not None
        await _settle()
        assert shared.reads == []
    finally:
        await cache.stop()


async def test_a_failed_check_leaves_the_copies_to_expire(clock, monkeypatch):
    monkeypatch.setattr(near_cache, "RENEWAL_RETRY_SECONDS", 0)

    async def down(keys: list[str]) -> Sequence[bytes | None]:
        raise ConnectionError("the shared cache is down")

    cache = NearCache(InProcessEventBus(), ttl_seconds=30, capacity=100)
    cache.renew_from(down)
    await cache.start()
    try:
        cache.put("a", b"1", cache.ticket(), source=b"1")
        clock[0] = 1025.0
        assert cache.get("a") == b"1"
        await _settle()
        clock[0] = 1031.0
        assert cache.get("a") is None
        clock[0] = 1000.0
        cache.put("a", b"1", cache.ticket(), source=b"1")  # renewal still runs afterwards
        clock[0] = 1025.0
        assert cache.get("a") == b"1"
        await _settle()
    finally:
        await cache.stop()


async def test_a_kept_page_checked_against_entity_copies_stays_quick_past_their_first_life(
    clock,
):
    """The entity cache's copies (what a kept home page is checked against) are renewed from
    the shared cache: a page's copies held past `ttl` while nothing changed."""
    shared = MemoryCache()
    entity_near = NearCache(InProcessEventBus(), ttl_seconds=30, capacity=100)
    cache = EntityCache(shared, near=entity_near)
    await entity_near.start()
    try:
        await cache.put_raw_many("status", {1: b'{"id":"1"}', 2: b'{"id":"2"}'}, b"0")
        found = await cache.get_raw_many({"status": [1, 2]})
        assert found["status"][0] == {1: b'{"id":"1"}', 2: b'{"id":"2"}'}
        keys = cache.near_keys({"status": [1, 2]})
        held = cache.held_near(keys)
        assert held is not None
        clock[0] = 1025.0
        again = cache.still_held(keys, held)  # in the window: checked, and renewal asked
        assert again is not None
        await _settle()
        clock[0] = 1045.0
        assert cache.still_held(keys, again) is not None  # the very copies, renewed
        await cache.invalidate([("status", 2)])
        assert cache.still_held(keys, again) is None
    finally:
        await entity_near.stop()
