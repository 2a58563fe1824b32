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
    near = NearCache(InProcessEventBus(), ttl_seconds=30, capacity=100)
    await near.start()
    try:
        for key in KEYS:  # copies of shared values (renewable: none is renewed here)
            near.put(key, object(), near.ticket(), source=b"shared")
        now[0] += 10
        near.put("e:status:1", object(), near.ticket(), source=b"shared")  # expires later
        held = near.held_all(KEYS)
        assert held is not None
        assert held.until == 1020.0  # the earliest expiry's renewal window begins
        now[0] = 1019.0
        assert near.holds(KEYS, held) is held
        now[0] = 1021.0
        again = near.holds(KEYS, held)  # checked key by key in the window: still held
        assert again is not None
        assert again.values == held.values
        now[0] = 1030.5
        assert near.holds(KEYS, again) is None  # no drop, yet one has expired
    finally:
        await near.stop()


async def test_values_made_in_the_process_end_spread_over_the_last_quarter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(near_cache, "monotonic", lambda: now[0])
    near = NearCache(InProcessEventBus(), ttl_seconds=40, capacity=1000)
    await near.start()
    try:
        for n in range(200):
            near.put(f"e:home:{n}", object(), near.ticket())
        now[0] = 1029.9
        assert all(near.get(f"e:home:{n}") is not None for n in range(200))
        now[0] = 1035.0
        left = sum(near.get(f"e:home:{n}") is not None for n in range(200))
        assert 20 < left < 180  # about half, not all or none at one moment
        now[0] = 1040.1
        assert all(near.get(f"e:home:{n}") is None for n in range(200))
    finally:
        await near.stop()


async def test_a_fill_is_refused_only_for_drops_of_its_own_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ticket refuses a fill when the key, or a key it was made from, was dropped since it
    was taken; a drop of any other key no longer refuses it (concurrent reads storing fresh
    renderings refused each other's copies). Past the drops remembered, every older ticket
    refuses."""
    near = NearCache(InProcessEventBus(), ttl_seconds=60, capacity=100)
    await near.start()
    try:
        ticket = near.ticket()
        near.forget(["e:status:9"])  # another key: still kept
        near.put("e:status:1", "one", ticket)
        assert near.get("e:status:1") == "one"

        near.forget(["e:status:2"])  # its own key: refused
        near.put("e:status:2", "two", ticket)
        assert near.get("e:status:2") is None

        page_ticket = near.ticket()
        await near.invalidate(["e:account:7"])  # one of the entries the page was made from
        near.put("e:home:1", "page", page_ticket, depends=KEYS)
        assert near.get("e:home:1") is None
        near.put("e:home:1", "page", page_ticket, depends=("e:status:1",))
        assert near.get("e:home:1") == "page"

        monkeypatch.setattr(near_cache, "DROPS_REMEMBERED", 3)
        old = near.ticket()
        near.forget(["a", "b", "c", "d"])  # more drops than remembered: `old` is too old
        near.put("e:status:5", "five", old)
        assert near.get("e:status:5") is None
        near.put("e:status:5", "five", near.ticket())
        assert near.get("e:status:5") == "five"
    finally:
        await near.stop()
