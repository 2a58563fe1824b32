"""The event bus on the engine of the run: in-process, or Redis pub/sub across two
independent buses (as two server processes would hold)."""

import asyncio

import pytest

from connecthub.infra.engines import Engines
from tests.engines import redis_url


async def _next(subscription, timeout=5.0):
    return await asyncio.wait_for(subscription.queue.get(), timeout)


async def _settle(engines: Engines) -> None:
    """Redis SUBSCRIBE is asynchronous: publish a probe until the subscriber sees it."""
    probe = await engines.events.subscribe("probe")
    for _ in range(100):
        await engines.events.publish("probe", {"ping": True})
        try:
            await asyncio.wait_for(probe.queue.get(), 0.1)
            break
        except TimeoutError:
            continue
    await probe.close()


@pytest.fixture
async def two_buses(test_env):
    """Two engine sets on the same configuration, like two server processes."""
    first = Engines.from_settings(test_env.settings())
    second = Engines.from_settings(test_env.settings()) if redis_url() else first
    await first.start()
    if second is not first:
        await second.start()
    yield first, second
    await first.stop()
    if second is not first:
        await second.stop()


async def test_an_event_reaches_subscribers_of_its_channel_only(two_buses):
    publisher, listener = two_buses
    wanted = await listener.events.subscribe("account:1")
    other = await listener.events.subscribe("account:2")
    await _settle(listener)
    await publisher.events.publish("account:1", {"event": "update", "n": 1})
    assert await _next(wanted) == {"event": "update", "n": 1}
    await asyncio.sleep(0.2)
    assert other.queue.empty()


async def test_unsubscribed_channels_stop_delivering(two_buses):
    publisher, listener = two_buses
    subscription = await listener.events.subscribe("a", "b")
    await _settle(listener)
    await subscription.remove("a")
    await publisher.events.publish("a", {"n": 1})
    await publisher.events.publish("b", {"n": 2})
    assert await _next(subscription) == {"n": 2}
    assert subscription.channels == {"b"}


async def test_a_slow_consumer_overflows_instead_of_growing(two_buses):
    publisher, listener = two_buses
    subscription = await listener.events.subscribe("busy", max_pending=3)
    await _settle(listener)
    for n in range(10):
        await publisher.events.publish("busy", {"n": n})
    for _ in range(50):
        if subscription.overflowed:
            break
        await asyncio.sleep(0.05)
    assert subscription.overflowed
    assert subscription.queue.qsize() == 3
