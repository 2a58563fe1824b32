"""Copies marked stale rather than dropped (`NearCache.mark_stale`, what a post reaching a
kept home page does): set aside and answerable while made again, refusing fills that raced
the mark as a drop does, and gone with any drop of their key, a new value or their time."""

from __future__ import annotations

import asyncio

import pytest

from connecthub.infra import near_cache
from connecthub.infra.entity_cache import ENTITY_INVALIDATIONS_CHANNEL
from connecthub.infra.events import InProcessEventBus
from connecthub.infra.near_cache import NearCache
from tests.factories import create_token, create_user

KEY = "e:home:7"
STATUS = "e:status:1"


async def _started(bus: InProcessEventBus | None = None, ttl: float = 60) -> NearCache:
    near = NearCache(bus or InProcessEventBus(), ttl_seconds=ttl, capacity=100)
    await near.start()
    return near


async def test_a_marked_copy_is_set_aside_until_replaced_or_dropped() -> None:
    near = await _started()
    try:
        near.put(KEY, "page 1", near.ticket())
        await near.mark_stale([KEY])
        assert near.get(KEY) is None  # not answered as fresh
        assert near.stale(KEY) == "page 1"
        await near.mark_stale([KEY])  # marked again: still the same one aside
        assert near.stale(KEY) == "page 1"

        assert near.put(KEY, "page 2", near.ticket())  # made again: the stale one goes
        assert near.get(KEY) == "page 2"
        assert near.stale(KEY) is None

        await near.mark_stale([KEY])
        near.forget([KEY])  # a drop (a block, a mute): nothing of the key is answered
        assert near.stale(KEY) is None
        await near.mark_stale([KEY])  # nothing held to set aside
        assert near.stale(KEY) is None
    finally:
        await near.stop()


async def test_a_fill_that_raced_only_marks_is_set_aside_when_asked() -> None:
    near = await _started()
    try:
        near.put(STATUS, "status", near.ticket())
        near.put(KEY, "page 1", near.ticket())
        ticket = near.ticket()  # a rendering starts
        await near.mark_stale([KEY])  # a post reaches the home meanwhile
        assert not near.put(KEY, "page 2", ticket, depends=[STATUS])
        assert near.stale(KEY) == "page 1"  # refused, as after a drop
        assert not near.put(KEY, "page 2", ticket, depends=[STATUS], stale_if_marked=True)
        assert near.get(KEY) is None
        assert near.stale(KEY) == "page 2"  # newer than the one aside, as far behind

        ticket = near.ticket()
        await near.mark_stale([KEY])
        near.forget([KEY])  # a drop too: the rendering may show what it removed
        assert not near.put(KEY, "page 3", ticket, stale_if_marked=True)
        assert near.stale(KEY) is None

        near.put(KEY, "page 4", near.ticket())
        ticket = near.ticket()
        await near.mark_stale([KEY])
        near.forget([STATUS])  # an entry it was made from changed
        assert not near.put(KEY, "page 5", ticket, depends=[STATUS], stale_if_marked=True)
        assert near.stale(KEY) == "page 4"
    finally:
        await near.stop()


async def test_a_mark_reaches_every_process_and_a_stale_copy_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(near_cache, "monotonic", lambda: now[0])
    bus = InProcessEventBus()
    here, there = await _started(bus, ttl=30), await _started(bus, ttl=30)
    try:
        for near in (here, there):
            near.put(KEY, "page", near.ticket())
        await here.mark_stale([KEY])
        for _ in range(50):
            if there.get(KEY) is None:
                break
            await asyncio.sleep(0.01)
        assert there.get(KEY) is None
        assert there.stale(KEY) == "page"
        now[0] += 31  # past its own life: still behind, not wrong
        assert there.stale(KEY) == "page"
        now[0] += 30 * (near_cache.STALE_LIFE - 1)  # past the life of what is set aside
        assert there.stale(KEY) is None
        assert here.stale(KEY) is None
    finally:
        await here.stop()
        await there.stop()


async def test_values_made_from_copies_marked_stale_are_behind_not_wrong() -> None:
    """A counter moved (its copies marked stale): what was made from them is behind;
    any other change (a drop) makes it wrong."""
    near = await _started()
    try:
        near.put(STATUS, "status", near.ticket())
        near.put(KEY, "page 1", near.ticket())
        made_at = near.ticket()
        assert near.unchanged_since([STATUS], made_at)
        await near.mark_stale([STATUS])  # its favourites counted
        assert near.get(STATUS) is None  # nothing fresh is made from it again
        assert near.unchanged_since([STATUS], made_at)
        assert not near.put(KEY, "page 2", made_at, depends=[STATUS])
        assert near.put(KEY, "page 2", made_at, depends=[STATUS], stale_if_marked=True) is False
        assert near.stale(KEY) == "page 2"
        near.forget([STATUS])  # edited
        assert not near.unchanged_since([STATUS], made_at)
        assert near.unchanged_since(["e:status:2"], made_at)  # others unchanged
    finally:
        await near.stop()


async def test_a_value_made_here_that_expired_is_set_aside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(near_cache, "monotonic", lambda: now[0])
    near = await _started(ttl=30)
    try:
        near.put(KEY, "page", near.ticket())  # made in the process
        near.put(STATUS, "status", near.ticket(), source=b"shared")  # a copy
        now[0] += 31
        assert near.get(KEY) is None
        assert near.get(STATUS) is None
        assert near.stale(KEY) == "page"  # time alone put it behind
        assert near.stale(STATUS) is None  # a copy is read again from the shared cache
    finally:
        await near.stop()


async def test_drops_and_marks_of_one_change_reach_other_processes_as_one_message() -> None:
    bus = InProcessEventBus()
    here, there = await _started(bus), await _started(bus)
    watch = await bus.subscribe(near_cache.INVALIDATIONS_CHANNEL)
    try:
        for near in (here, there):
            near.put(STATUS, "status", near.ticket())
            near.put(KEY, "page", near.ticket())
        await here.change([STATUS], [KEY])
        for _ in range(50):
            if there.get(KEY) is None:
                break
            await asyncio.sleep(0.01)
        assert there.get(STATUS) is None
        assert there.stale(STATUS) is None  # dropped
        assert there.get(KEY) is None
        assert there.stale(KEY) == "page"  # only behind
        assert watch.queue.qsize() == 1
    finally:
        await watch.close()
        await here.stop()
        await there.stop()


async def test_a_posts_commit_tells_other_processes_once(app_factory) -> None:
    """A new post is a new status (dropped everywhere) and its author's count (marked
    stale): one invalidation to the shared cache and one message on the bus, not two."""
    async with app_factory() as (app, client):
        account, _ = await create_user(app, "poster")
        headers = {"Authorization": f"Bearer {await create_token(app, account.id)}"}
        first = await client.post("/api/v1/statuses", json={"status": "one"}, headers=headers)
        assert first.status_code == 200
        watch = await app.state.engines.events.subscribe(ENTITY_INVALIDATIONS_CHANNEL)
        try:
            second = await client.post("/api/v1/statuses", json={"status": "two"}, headers=headers)
            assert second.status_code == 200
            await asyncio.sleep(0.05)  # the bus delivers after the publish returns
            messages = [watch.queue.get_nowait() for _ in range(watch.queue.qsize())]
        finally:
            await watch.close()
        status_key = f"entity:status:{second.json()['id']}"
        account_key = f"entity:account:{account.id}"
        about_the_post = [
            message
            for message in messages
            if {status_key, account_key} & {*message.get("keys", ()), *message.get("stale", ())}
        ]  # (the fan-out's marks of homes the post reached come on their own)
        [message] = about_the_post
        assert status_key in message["keys"]
        assert account_key in message["stale"]
