"""The event bus on the engine of the run: in-process, or Redis pub/sub across two
independent buses (as two server processes would hold)."""

import asyncio

import pytest

from connecthub.infra.engines import Engines
from connecthub.infra.redis import KeySpace
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


async def _upstream_listeners(engines: Engines, channel: str) -> int:
    """How many Redis connections are subscribed to `channel` (PUBSUB NUMSUB)."""
    assert engines.redis is not None
    wire = KeySpace(engines.settings.redis_key_prefix)("events", channel)
    [(_, count)] = await engines.redis.pubsub_numsub(wire)
    return int(count)


async def test_thousands_of_channels_subscribed_at_once_all_deliver(two_buses):
    """A mass connect: every socket's channel is subscribed in a few batched commands,
    so the last one opened receives its event without waiting behind the others."""
    publisher, listener = two_buses
    channels = [f"user:{n}" for n in range(5000)]
    subscriptions = await asyncio.gather(*(listener.events.subscribe(c) for c in channels))
    # subscribe() returns once Redis confirmed the channel: no settling needed.
    await publisher.events.publish(channels[-1], {"event": "update", "n": "last"})
    await publisher.events.publish(channels[0], {"event": "update", "n": "first"})
    assert await _next(subscriptions[-1], timeout=10.0) == {"event": "update", "n": "last"}
    assert await _next(subscriptions[0], timeout=10.0) == {"event": "update", "n": "first"}
    assert all(s.queue.empty() for s in subscriptions[1:-1])
    await asyncio.gather(*(s.close() for s in subscriptions))
    if redis_url():
        for _ in range(100):
            if await _upstream_listeners(listener, channels[-1]) == 0:
                break
            await asyncio.sleep(0.05)
        assert await _upstream_listeners(listener, channels[-1]) == 0


async def test_channel_reference_counts_survive_subscribe_unsubscribe_races(two_buses):
    """Listeners of one channel come and go in the same instant: the channel stays
    subscribed upstream exactly while someone listens, once per process."""
    publisher, listener = two_buses
    keeper = await listener.events.subscribe("shared")
    churn = await asyncio.gather(*(listener.events.subscribe("shared") for _ in range(50)))
    # Leave and come back within one tick, interleaved with other listeners leaving.
    returning, leaving = churn[:25], churn[25:]
    await asyncio.gather(
        *(s.close() for s in leaving),
        *(s.remove("shared") for s in returning),
        *(s.add("shared") for s in returning),
    )
    await keeper.close()
    await publisher.events.publish("shared", {"n": 1})
    for subscription in returning:
        assert await _next(subscription) == {"n": 1}
    assert all(s.queue.empty() for s in leaving)
    if redis_url():
        assert await _upstream_listeners(listener, "shared") == 1

    # The last listener leaves and a new one arrives at once: it still gets events.
    await asyncio.gather(*(s.close() for s in returning))
    newcomer = await listener.events.subscribe("shared")
    await publisher.events.publish("shared", {"n": 2})
    assert await _next(newcomer) == {"n": 2}
    await newcomer.close()
    if redis_url():
        for _ in range(100):
            if await _upstream_listeners(listener, "shared") == 0:
                break
            await asyncio.sleep(0.05)
        assert await _upstream_listeners(listener, "shared") == 0


# -- gaps: a lost pub/sub connection is reported, never hidden ------------------------------


@pytest.fixture
async def own_bus(test_env, own_redis):
    """Engines on a Redis of the test's own (tests/support/redis_server.py), which the test
    may kill, restart or cut connections of; the run's shared Redis is never touched."""
    engines = Engines.from_settings(test_env.settings(redis_url=own_redis.url))
    await engines.start()
    yield engines
    await engines.stop()


async def _until(condition, what: str, timeout: float = 15.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := condition()):
        assert loop.time() < deadline, what
        await asyncio.sleep(0.05)
    return value


async def test_the_in_process_bus_is_always_live(test_env):
    if redis_url():
        pytest.skip("the in-process bus is the embedded engine")
    engines = Engines.from_settings(test_env.settings())
    await engines.start()
    try:
        bus = engines.events
        await bus.subscribe("user:1")
        epoch = await bus.wait_connected()
        assert epoch is not None
        assert bus.is_live(["user:1"], epoch)
    finally:
        await engines.stop()


@pytest.mark.skipif(redis_url() is None, reason="needs Redis")
async def test_a_redis_restart_is_reported_and_nothing_is_live_until_resubscribed(
    own_bus, own_redis
):
    bus = own_bus.events
    losses = []
    bus.add_loss_listener(lambda: losses.append(bus.connection_epoch))
    listener = await bus.subscribe("user:1")
    epoch = await bus.wait_connected()
    assert epoch is not None
    assert bus.is_live(["user:1"], epoch)

    await asyncio.to_thread(own_redis.kill)
    await _until(lambda: losses, "the loss was not reported")
    assert losses == [None]  # reported once, the bus already off its connection
    assert not bus.is_live(["user:1"], epoch)
    # Subscribing meanwhile returns (bounded), and says it is not live.
    late = await bus.subscribe("user:2")
    assert not bus.is_live(["user:2"], bus.connection_epoch)

    await asyncio.to_thread(own_redis.start)
    new_epoch = await _until(lambda: bus.connection_epoch, "the bus did not reconnect")
    assert new_epoch != epoch
    await _until(lambda: bus.is_live(["user:1", "user:2"], new_epoch), "not resubscribed")
    await bus.publish("user:2", {"n": 2})
    await bus.publish("user:1", {"n": 1})
    assert await _next(late) == {"n": 2}
    assert await _next(listener) == {"n": 1}

    # Commands that reuse the pool's connections (the old pub/sub one among them) are not
    # this bus reconnecting.
    assert own_bus.redis is not None
    await asyncio.gather(*(own_bus.redis.ping() for _ in range(50)))
    await asyncio.sleep(0.2)
    assert losses == [None]
    assert bus.connection_epoch == new_epoch


@pytest.mark.skipif(redis_url() is None, reason="needs Redis")
async def test_a_pubsub_connection_redis_py_reconnects_by_itself_is_a_loss_too(own_bus):
    """Redis drops the subscriber (CLIENT KILL, as its output-buffer limit or a proxy
    would) and stays up: redis-py reconnects and resubscribes under the bus, but what was
    published in between is gone, so it is a new epoch all the same."""
    bus = own_bus.events
    losses = []
    bus.add_loss_listener(lambda: losses.append(True))
    listener = await bus.subscribe("user:1")
    epoch = await bus.wait_connected()
    assert bus.is_live(["user:1"], epoch)

    assert own_bus.redis is not None
    await own_bus.redis.client_kill_filter(_type="pubsub")
    await _until(lambda: losses, "the loss was not reported")
    assert not bus.is_live(["user:1"], epoch)
    new_epoch = await _until(
        lambda: bus.is_live(["user:1"], bus.connection_epoch) and bus.connection_epoch,
        "not resubscribed",
    )
    assert new_epoch != epoch
    await bus.publish("user:1", {"n": 1})
    assert await _next(listener) == {"n": 1}
    assert losses == [True]


@pytest.mark.skipif(redis_url() is None, reason="needs Redis")
async def test_a_listener_joining_a_channel_being_subscribed_waits_for_its_confirmation(
    two_buses,
):
    """The second listener of a channel whose SUBSCRIBE is still on its way does not
    return before Redis confirmed it (it would miss what is published meanwhile)."""
    publisher, listener = two_buses
    first_task = asyncio.create_task(listener.events.subscribe("joined"))
    await asyncio.sleep(0)  # the first listener attached; its SUBSCRIBE not confirmed yet
    second = await listener.events.subscribe("joined")
    epoch = listener.events.connection_epoch
    assert listener.events.is_live(["joined"], epoch)
    await publisher.events.publish("joined", {"n": 1})
    assert await _next(second) == {"n": 1}
    assert await _next(await first_task) == {"n": 1}
