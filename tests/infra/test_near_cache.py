"""Process-local copies of cache entries (distributed mode): dropped in every process when
invalidated, never kept from a fill that raced an invalidation, unused after the event bus
reconnects (an invalidation may have been missed), and gone after their time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from connecthub.infra.engines import Engines
from connecthub.infra.entity_cache import EntityCache
from connecthub.infra.near_cache import NearCache
from connecthub.infra.redis import connect_redis
from tests.engines import redis_url

pytestmark = pytest.mark.skipif(
    redis_url() is None,
    reason="distributed mode only: TEST_REDIS_URL=redis://127.0.0.1:6379/0 (CI's second pass)",
)


async def eventually(check: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + 5
    while True:
        answer = check()
        if not isinstance(answer, bool):
            answer = await answer
        if answer:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def two_processes(test_env) -> AsyncIterator[tuple[Engines, Engines]]:
    """Two engine sets on one configuration, as two server processes hold them."""
    first = Engines.from_settings(test_env.settings())
    second = Engines.from_settings(test_env.settings())
    await first.start()
    await second.start()
    yield first, second
    await second.stop()
    await first.stop()


def near(engines: Engines) -> NearCache:
    assert engines.near is not None
    return engines.near


async def test_an_invalidation_drops_the_copies_in_every_process(two_processes):
    first, second = two_processes
    for engines in (first, second):
        near(engines).put("token:a", "A", near(engines).ticket())
        near(engines).put("token:b", "B", near(engines).ticket())
        assert near(engines).get("token:a") == "A"

    await near(first).invalidate(["token:a"])
    assert near(first).get("token:a") is None  # at once where it was invalidated
    await eventually(lambda: near(second).get("token:a") is None, "the other process to drop it")
    assert near(second).get("token:b") == "B"  # what was not invalidated stays


async def test_a_fill_that_raced_an_invalidation_is_not_kept(two_processes):
    first, second = two_processes
    near(second).put("token:probe", "P", near(second).ticket())
    ticket = near(second).ticket()  # second starts reading "token:a" from the source...
    await near(first).invalidate(["token:a", "token:probe"])  # ...first revokes it meanwhile
    await eventually(lambda: near(second).get("token:probe") is None, "the invalidation")
    near(second).put("token:a", "stale", ticket)
    assert near(second).get("token:a") is None
    near(second).put("token:a", "fresh", near(second).ticket())
    assert near(second).get("token:a") == "fresh"


async def test_a_copy_made_after_its_own_invalidation_outlives_the_echo(two_processes):
    """An invalidation drops the copy here at once and reaches every process through the bus,
    this one too. A copy read here after the drop is fresh (the shared value changed first):
    the message's echo must not drop it, nor refuse it as a fill that raced a drop (home
    pages kept right after a post were read again for it)."""
    first, second = two_processes
    await near(first).invalidate(["token:a"])
    near(first).put("token:a", "fresh", near(first).ticket())
    # The echo of the invalidation arrives before this second one, sent after it.
    await near(second).invalidate(["token:marker"])
    near(first).put("token:marker", "M", near(first).ticket())
    await eventually(lambda: near(first).get("token:marker") is None, "the marker's drop")
    assert near(first).get("token:a") == "fresh"
    ticket = near(first).ticket()
    await near(first).invalidate(["token:b"])
    await near(second).invalidate(["token:marker"])
    near(first).put("token:marker", "M", near(first).ticket())
    await eventually(lambda: near(first).get("token:marker") is None, "the marker's drop")
    near(first).put("token:a", "newer", ticket)  # "token:a" was not dropped since the ticket
    assert near(first).get("token:a") == "newer"


async def test_copies_are_not_used_once_the_bus_has_reconnected(two_processes):
    _, engines = two_processes
    near(engines).put("token:a", "A", near(engines).ticket())
    epoch = engines.events.connection_epoch  # type: ignore[attr-defined]
    pubsub = engines.events._pubsub  # type: ignore[attr-defined]
    host, port = pubsub.connection._writer.get_extra_info("sockname")[:2]
    url = redis_url()
    assert url is not None
    admin = connect_redis(url, max_connections=2)
    try:
        # Redis drops this process's pub/sub connection (as a Redis restart would).
        assert await admin.execute_command("CLIENT", "KILL", "ADDR", f"{host}:{port}")
    finally:
        await admin.aclose()

    def reconnected() -> bool:
        now = engines.events.connection_epoch  # type: ignore[attr-defined]
        return now is not None and now != epoch

    await eventually(reconnected, "the bus to reconnect")
    assert near(engines).get("token:a") is None
    near(engines).put("token:a", "again", near(engines).ticket())
    assert near(engines).get("token:a") == "again"


async def test_copies_expire(test_env):
    engines = Engines.from_settings(test_env.settings(near_cache_seconds=0.2))
    await engines.start()
    try:
        near(engines).put("token:a", "A", near(engines).ticket())
        assert near(engines).get("token:a") == "A"
        await asyncio.sleep(0.3)
        assert near(engines).get("token:a") is None
    finally:
        await engines.stop()


async def test_no_copies_in_embedded_mode_or_when_turned_off(test_env):
    assert Engines.from_settings(test_env.settings(near_cache_seconds=0)).near is None


# Entity-cache entries (ADR 0042): the same copies, on their own channel.


def entity_cache(engines: Engines) -> EntityCache:
    cache = engines.db.entity_cache
    assert cache is not None
    assert cache.near is not None
    return cache


async def test_entity_reads_are_answered_near_and_dropped_everywhere_on_change(two_processes):
    first, second = two_processes
    await entity_cache(first).put_raw_many("status", {7: b'{"id":"7"}'}, b"0")
    found, _ = (await entity_cache(second).get_raw_many({"status": [7]}))["status"]
    assert found == {7: b'{"id":"7"}'}

    # Held near: answered without the shared entry (removed behind the cache's back here).
    await first.cache.delete("entity:status:7")
    found, _ = (await entity_cache(second).get_raw_many({"status": [7]}))["status"]
    assert found == {7: b'{"id":"7"}'}

    await entity_cache(first).invalidate([("status", 7)])

    async def dropped() -> bool:
        found, _ = (await entity_cache(second).get_raw_many({"status": [7]}))["status"]
        return found == {}

    await eventually(dropped, "the other process to drop its copy")


async def test_a_new_generation_retires_the_near_copies(two_processes):
    first, second = two_processes
    await entity_cache(first).put_raw_many("account", {3: b"{}"}, b"0")
    found, generation = (await entity_cache(second).get_raw_many({"account": [3]}))["account"]
    assert (found, generation) == ({3: b"{}"}, b"0")

    await entity_cache(first).retire("account")

    async def retired() -> bool:
        found, generation = (await entity_cache(second).get_raw_many({"account": [3]}))["account"]
        return found == {} and generation != b"0"

    await eventually(retired, "the other process to see the new generation")


async def test_no_entity_copies_when_turned_off(test_env):
    engines = Engines.from_settings(test_env.settings(entity_near_cache_entries=0))
    assert engines.entity_near is None
    assert engines.near is not None
    assert engines.db.entity_cache is not None
    assert engines.db.entity_cache.near is None


async def test_a_rendering_stored_after_a_new_generation_replaces_the_near_copy(two_processes):
    first, _ = two_processes
    cache = entity_cache(first)
    await cache.put_raw_many("status", {5: b"old"}, b"0")
    assert (await cache.get_raw_many({"status": [5]}))["status"] == ({5: b"old"}, b"0")
    await cache.retire("status")
    found, generation = (await cache.get_raw_many({"status": [5]}))["status"]
    assert found == {}  # the copy is of the old generation
    await cache.put_raw_many("status", {5: b"new"}, generation)
    assert (await cache.get_raw_many({"status": [5]}))["status"] == ({5: b"new"}, generation)
