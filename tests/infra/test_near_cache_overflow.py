"""A near cache whose listener fell behind (more invalidations pending than it holds, as when
its process was paused or starved) drops every copy and listens afresh: it keeps copies
again at once, never from a fill that began before it caught up."""

from __future__ import annotations

import asyncio

from connecthub.infra.events import InProcessEventBus
from connecthub.infra.near_cache import NearCache


async def _caught_up(near: NearCache) -> None:
    for _ in range(200):
        if near.overflows and near._listening:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the near cache did not listen again")


async def test_a_listener_that_fell_behind_drops_its_copies_and_listens_again() -> None:
    bus = InProcessEventBus()
    near = NearCache(bus, ttl_seconds=60, capacity=100)
    await near.start()
    try:
        near.put("token:a", "A", near.ticket())
        raced = near.ticket()  # a fill under way while the listener falls behind
        subscription = near._subscription
        assert subscription is not None
        for _ in range(10_001):  # more than it holds, delivered before it runs again
            subscription.deliver({"keys": ["token:other"]})
        assert subscription.overflowed

        await _caught_up(near)
        assert near.get("token:a") is None  # it may have missed this one's invalidation
        near.put("token:a", "stale", raced)
        assert near.get("token:a") is None  # the fill began before it caught up
        near.put("token:a", "fresh", near.ticket())
        assert near.get("token:a") == "fresh"

        await bus.publish("_near_cache:invalidations", {"keys": ["token:a"]})
        for _ in range(100):  # the new subscription hears invalidations
            if near.get("token:a") is None:
                break
            await asyncio.sleep(0.005)
        assert near.get("token:a") is None
    finally:
        await near.stop()
