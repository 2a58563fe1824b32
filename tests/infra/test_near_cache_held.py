"""Several copies checked as one (`NearCache.held_all` / `holds`, what a kept home page is
checked against): at once while nothing was dropped in the process, key by key after any
drop, and never still held once one of them was dropped, replaced or expired."""

from __future__ import annotations

import pytest

from connecthub.infra import near_cache
from connecthub.infra.events import InProcessEventBus
from connecthub.infra.near_cache import NearCache

KEYS = ("e:status:1", "e:status:2", "e:account:7")


async def _filled(ttl: float = 60) -> NearCache:
    near = NearCache(InProcessEventBus(), ttl_seconds=ttl, capacity=100)
    await near.start()
    for key in KEYS:
        near.put(key, object(), near.ticket())
    return near


async def test_copies_held_together_until_one_is_dropped_or_replaced() -> None:
    near = await _filled()
    try:
        held = near.held_all(KEYS)
        assert held is not None
        assert near.holds(KEYS, held) is held  # nothing dropped since: the quick answer
        assert near.held_all((*KEYS, "e:status:3")) is None  # one is not held

        near.forget(["e:status:99"])  # a drop elsewhere: checked key by key, still held
        again = near.holds(KEYS, held)
        assert again is not None
        assert again is not held
        assert again.values == held.values
        assert near.holds(KEYS, again) is again  # quick again from then on

        near.forget(["e:status:2"])
        near.put("e:status:2", object(), near.ticket())  # read again: another copy
        assert near.holds(KEYS, again) is None
        await near.invalidate(["e:account:7"])
        assert near.holds(KEYS, held) is None
    finally:
        await near.stop()


async def test_copies_held_together_expire_with_the_first_of_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(near_cache, "monotonic", lambda: now[0])
    near = await _filled(ttl=30)
    try:
        near.put("e:status:1", object(), near.ticket())  # refilled later: expires later
        now[0] += 10
        near.put("e:status:1", object(), near.ticket())
        held = near.held_all(KEYS)
        assert held is not None
        assert held.until == 1030.0  # the earliest of them
        now[0] = 1029.0
        assert near.holds(KEYS, held) is held
        now[0] = 1030.5
        assert near.holds(KEYS, held) is None  # no drop, yet one has expired
    finally:
        await near.stop()
