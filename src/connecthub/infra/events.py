"""Publish/subscribe between processes: in-process (embedded) or Redis pub/sub (distributed).

A process holds one subscription per channel however many local listeners want it, so a
server worker receives only the channels its own connections need, never the firehose.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any, Protocol

import orjson
import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from connecthub.core.tasks import cancel_and_wait
from connecthub.infra.redis import KeySpace

log = structlog.get_logger(__name__)

Event = dict[str, Any]
READ_TIMEOUT_SECONDS = 0.5
# How long subscribe() waits for Redis to confirm new channels before giving up waiting.
SUBSCRIBE_WAIT_SECONDS = 2.0
# Channels per SUBSCRIBE/UNSUBSCRIBE command, so one command stays a few hundred KiB.
MAX_CHANNELS_PER_COMMAND = 5000
ALIVE_CHANNEL = "_alive"
# One message on many channels: sent once, published by Redis to each (ARGV: the message,
# then the channels). A pipeline of PUBLISH commands carried the message once per channel
# and cost the client ~25 µs of CPU per command (a fan-out to 50 followers: 1.2 ms, against
# 0.15 ms for the script).
_PUBLISH_MANY = """
for i = 2, #ARGV do redis.call('PUBLISH', ARGV[i], ARGV[1]) end
return #ARGV - 1
"""


class Subscription:
    """A local listener: a bounded queue fed with the events of the channels it follows.

    When the queue is full the subscription is marked overflowed and stops receiving; its
    owner (a streaming connection) then closes, so a slow consumer cannot grow memory.
    """

    def __init__(self, bus: EventBusBase, max_pending: int) -> None:
        self._bus = bus
        self.channels: set[str] = set()
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=max_pending)
        self.overflowed = False

    def deliver(self, event: Event) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True

    async def add(self, *channels: str) -> None:
        await self._bus._attach(self, channels)

    async def remove(self, *channels: str) -> None:
        await self._bus._detach(self, channels)

    async def close(self) -> None:
        await self._bus._detach(self, tuple(self.channels))

    async def __aiter__(self) -> AsyncIterator[Event]:
        while not self.overflowed:
            yield await self.queue.get()


class EventBus(Protocol):
    async def publish(self, channel: str, event: Event) -> None: ...
    async def publish_many(self, channels: Sequence[str], event: Event) -> None:
        """One event on many channels (fan-out): encoded once, sent in one round trip."""
        ...

    async def subscribe(self, *channels: str, max_pending: int = 1000) -> Subscription: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    @property
    def connection_epoch(self) -> int | None:
        """Which upstream connection the bus is on (None while it has none)."""
        ...

    async def wait_connected(self) -> int | None:
        """The connection epoch once the bus has a connection (waiting at most
        SUBSCRIBE_WAIT_SECONDS), or None."""
        ...

    def is_live(self, channels: Iterable[str], epoch: int | None) -> bool:
        """Whether every event published on `channels` from now on reaches this process,
        on the connection `epoch` (see EventBusBase.is_live)."""
        ...

    def add_loss_listener(self, listener: Callable[[], None]) -> None: ...
    def remove_loss_listener(self, listener: Callable[[], None]) -> None: ...


class EventBusBase:
    """Local fan-out shared by both engines: channel -> the subscriptions that follow it.

    Gaps: an engine whose upstream connection can drop (Redis) loses what is published
    while it is away, so listeners must learn that it happened. Each connection has an
    epoch; `is_live(channels, epoch)` says whether those channels have been subscribed
    without a gap since `epoch` began, and loss listeners are called, synchronously, the
    moment a connection is known to be lost. The in-process bus has one connection that
    never drops: epoch 0, always live.
    """

    def __init__(self) -> None:
        self._listeners: defaultdict[str, set[Subscription]] = defaultdict(set)
        self._loss_listeners: list[Callable[[], None]] = []

    @property
    def connection_epoch(self) -> int | None:
        return 0

    async def wait_connected(self) -> int | None:
        return self.connection_epoch

    def is_live(self, channels: Iterable[str], epoch: int | None) -> bool:
        return epoch is not None and epoch == self.connection_epoch

    def add_loss_listener(self, listener: Callable[[], None]) -> None:
        self._loss_listeners.append(listener)

    def remove_loss_listener(self, listener: Callable[[], None]) -> None:
        with contextlib.suppress(ValueError):
            self._loss_listeners.remove(listener)

    def _connection_lost(self) -> None:
        for listener in tuple(self._loss_listeners):
            try:
                listener()
            except Exception:
                log.exception("events.loss_listener_failed")

    async def subscribe(self, *channels: str, max_pending: int = 1000) -> Subscription:
        subscription = Subscription(self, max_pending)
        await subscription.add(*channels)
        return subscription

    def _dispatch(self, channel: str, event: Event) -> None:
        for subscription in tuple(self._listeners.get(channel, ())):
            subscription.deliver(event)

    async def _attach(self, subscription: Subscription, channels: tuple[str, ...]) -> None:
        first_listeners = []
        for channel in channels:
            if not self._listeners[channel]:
                first_listeners.append(channel)
            self._listeners[channel].add(subscription)
            subscription.channels.add(channel)
        await self._on_attached(first_listeners, channels)

    async def _detach(self, subscription: Subscription, channels: tuple[str, ...]) -> None:
        last_listeners = []
        for channel in channels:
            listeners = self._listeners.get(channel)
            subscription.channels.discard(channel)
            if listeners is None:
                continue
            listeners.discard(subscription)
            if not listeners:
                del self._listeners[channel]
                last_listeners.append(channel)
        if last_listeners:
            await self._on_last_listener(last_listeners)

    async def _on_attached(self, first_listeners: list[str], channels: tuple[str, ...]) -> None:
        """Hook for engines that must subscribe upstream: `first_listeners` are the channels
        nobody here listened to before, `channels` every channel just attached."""

    async def _on_last_listener(self, channels: list[str]) -> None:
        """Hook for engines that must unsubscribe upstream."""


class InProcessEventBus(EventBusBase):
    async def publish(self, channel: str, event: Event) -> None:
        self._dispatch(channel, event)

    async def publish_many(self, channels: Sequence[str], event: Event) -> None:
        for channel in channels:
            self._dispatch(channel, event)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._listeners.clear()


class RedisEventBus(EventBusBase):
    """One pub/sub connection per process; reconnects and resubscribes if Redis restarts.

    Upstream subscriptions are reconciled, not queued: attaching or detaching a channel only
    marks the bus dirty, and one sync task compares the channels local listeners want with
    those subscribed upstream and sends the difference as one SUBSCRIBE and one UNSUBSCRIBE
    per tick. A thousand sockets connecting at once cost a handful of commands, and a
    subscribe/unsubscribe race on one channel resolves to whatever is wanted when the sync
    runs (the per-channel listener sets are the reference count).

    `subscribe()` returns once Redis has confirmed the channels (bounded by
    SUBSCRIBE_WAIT_SECONDS) — a listener joining a channel whose SUBSCRIBE is still on its
    way waits for that confirmation too — so a stream that has opened already receives what
    is published after it; `is_live` tells whether the wait succeeded.

    Gaps are never hidden. Pub/sub keeps nothing: what is published while this connection
    is down, or before a new one has resubscribed, never reaches this process. So the
    moment a connection is known to be lost — a read or a subscription fails, or redis-py
    reconnects it underneath by itself (its retry policy) — the loss listeners are called,
    and the next connection is a new epoch on which nothing is live until Redis confirms
    it. The streaming hub closes every socket then (docs/streaming.md, "Redis restarts").
    """

    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        super().__init__()
        self._redis = redis
        self._keys = keys
        self._prefix = keys("events", "")
        self._publish_many = redis.register_script(_PUBLISH_MANY)
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._syncer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._dirty = asyncio.Event()
        self._stopping = False
        self._redis_down = False
        self._connections = 0  # connections made so far (see `connection_epoch`)
        self._connected = False
        self._up = asyncio.Event()  # set while connected
        # Why the reader must drop the current connection (set outside the reader).
        self._broken: str | None = None
        # Channels subscribed (or being subscribed) on the current connection.
        self._upstream: set[str] = set()
        # Futures waiting for a channel's next SUBSCRIBE to be sent...
        self._unsent: dict[str, list[asyncio.Future[None]]] = {}
        # ...and, per channel, one group per SUBSCRIBE sent and not yet confirmed (Redis
        # confirms in order, so the first confirmation answers the oldest group).
        self._unconfirmed: dict[str, deque[list[asyncio.Future[None]]]] = {}

    @property
    def connection_epoch(self) -> int | None:
        """Which pub/sub connection the bus is on, None while it has none: what was heard
        on one connection says nothing of what was published while it was down."""
        return self._connections if self._connected else None

    async def wait_connected(self) -> int | None:
        if not self._connected and self._reader is not None and not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SUBSCRIBE_WAIT_SECONDS):
                    await self._up.wait()
        return self.connection_epoch

    def is_live(self, channels: Iterable[str], epoch: int | None) -> bool:
        """True when the bus is still on connection `epoch` and Redis has confirmed every
        one of `channels` on it: everything published on them since reaches this process
        for as long as this connection lasts (its loss calls the loss listeners)."""
        if epoch is None or epoch != self.connection_epoch:
            return False
        return all(self._confirmed_now(channel) for channel in channels)

    def _confirmed_now(self, channel: str) -> bool:
        return self._connected and channel in self._upstream and not self._unconfirmed.get(channel)

    def _wire(self, channel: str) -> str:
        return self._prefix + channel

    def _local(self, wire_channel: str) -> str:
        return wire_channel.removeprefix(self._prefix)

    async def publish(self, channel: str, event: Event) -> None:
        await self._redis.publish(self._wire(channel), _encode(event))

    async def publish_many(self, channels: Sequence[str], event: Event) -> None:
        if not channels:
            return
        message = _encode(event)
        if len(channels) == 1:
            await self._redis.publish(self._wire(channels[0]), message)
            return
        await self._publish_many(args=[message, *(self._wire(c) for c in channels)])

    async def start(self) -> None:
        self._stopping = False
        self._reader = asyncio.create_task(self._read_forever(), name="events-reader")
        self._syncer = asyncio.create_task(self._sync_forever(), name="events-syncer")

    async def stop(self) -> None:
        # The reader polls with a timeout, so it notices the flag and leaves on its own;
        # cancelling it inside a blocking read can leave the connection half-closed.
        self._stopping = True
        self._connected = False
        self._up.clear()
        self._dirty.set()
        if self._pubsub is not None:
            # A message on the placeholder channel ends the reader's wait at once rather
            # than at the end of its poll (every test app's stop waited half a second).
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                    await self._redis.publish(self._wire(ALIVE_CHANNEL), b"{}")
        for task in (self._syncer, self._reader):
            if task is None:
                continue
            try:
                await asyncio.wait_for(asyncio.shield(task), READ_TIMEOUT_SECONDS * 3)
            except TimeoutError:
                await cancel_and_wait(task)
        await self._close_pubsub()
        self._listeners.clear()
        self._release_waiters()

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._upstream.clear()
        # Whoever waited on the lost connection waits for the resubscription instead.
        for channel, groups in self._unconfirmed.items():
            for group in groups:
                self._unsent.setdefault(channel, []).extend(group)
        self._unconfirmed.clear()
        if pubsub is not None:
            # The connection goes back to the pool, where other commands reuse it: its
            # next connect is not this bus reconnecting.
            if pubsub.connection is not None:
                pubsub.connection.deregister_connect_callback(self._reconnected)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pubsub.aclose(), 2.0)  # type: ignore[no-untyped-call]

    def _release_waiters(self) -> None:
        for waiters in self._unsent.values():
            _resolve(waiters)
        for groups in self._unconfirmed.values():
            for group in groups:
                _resolve(group)
        self._unsent.clear()
        self._unconfirmed.clear()

    def _lost(self, reason: str) -> None:
        """The current connection can no longer be trusted: the reader drops it, and the
        loss listeners hear of it now (once per connection)."""
        self._broken = reason
        was_connected = self._connected
        self._connected = False
        self._up.clear()
        if was_connected and not self._stopping:
            log.warning("events.connection_lost", reason=reason, epoch=self._connections)
            self._connection_lost()

    # -- subscriptions -----------------------------------------------------------------

    async def _on_attached(self, first_listeners: list[str], channels: tuple[str, ...]) -> None:
        loop = asyncio.get_running_loop()
        first = set(first_listeners)
        waiters = []
        for channel in channels:
            if channel not in first and self._confirmed_now(channel):
                continue
            groups = self._unconfirmed.get(channel) if channel not in first else None
            # A channel whose SUBSCRIBE is on its way: answered by that confirmation.
            group = groups[-1] if groups else self._unsent.setdefault(channel, [])
            waiter: asyncio.Future[None] = loop.create_future()
            group.append(waiter)
            waiters.append(waiter)
        if first_listeners:
            self._dirty.set()
        if not waiters or self._reader is None or self._stopping or self._redis_down:
            return  # no connection to wait for: the next connection's sync subscribes them
        # Bounded: with Redis slow or away the wait ends, and `is_live` says so.
        # (asyncio.timeout, not wait_for: no task per call during a mass connect.)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SUBSCRIBE_WAIT_SECONDS):
                for waiter in waiters:
                    await waiter

    async def _on_last_listener(self, channels: list[str]) -> None:
        self._dirty.set()

    async def _sync_forever(self) -> None:
        while not self._stopping:
            await self._dirty.wait()
            # One tick: let every attach/detach already scheduled land in this batch.
            await asyncio.sleep(0)
            self._dirty.clear()
            if self._stopping:
                break
            try:
                async with self._lock:
                    if self._pubsub is not None and self._broken is None:
                        await self._sync(self._pubsub)
            except (RedisError, OSError) as exc:
                # Channels believed subscribed may not be: start over on a new connection.
                log.warning("events.redis_sync_failed", error=str(exc))
                self._lost(f"subscription failed: {exc}")

    async def _sync(self, pubsub: PubSub) -> None:
        """Send the difference between wanted and upstream channels (caller holds the lock)."""
        wanted = self._listeners.keys()
        subscribe = [c for c in wanted if c not in self._upstream]
        unsubscribe = [c for c in self._upstream if c not in wanted]
        for chunk in _chunks(unsubscribe):
            self._upstream.difference_update(chunk)
            await pubsub.unsubscribe(*(self._wire(c) for c in chunk))
        for chunk in _chunks(subscribe):
            self._upstream.update(chunk)
            for channel in chunk:
                self._unconfirmed.setdefault(channel, deque()).append(self._unsent.pop(channel, []))
            await pubsub.subscribe(*(self._wire(c) for c in chunk))
        # Waiters on channels that stayed subscribed (a detach and re-attach within one
        # tick): answered with the pending confirmation, or at once if there is none.
        for channel in [c for c in self._unsent if c in self._upstream]:
            waiters = self._unsent.pop(channel)
            groups = self._unconfirmed.get(channel)
            if groups:
                groups[-1].extend(waiters)
            else:
                _resolve(waiters)
        # Waiters on channels no longer wanted (detached before the sync) need no answer.
        for channel in [c for c in self._unsent if c not in wanted]:
            _resolve(self._unsent.pop(channel))

    def _confirmed(self, wire_channel: bytes) -> None:
        channel = self._local(wire_channel.decode())
        groups = self._unconfirmed.get(channel)
        if groups:
            _resolve(groups.popleft())
            if not groups:
                del self._unconfirmed[channel]

    # -- reading -----------------------------------------------------------------------

    async def _connect(self) -> PubSub:
        pubsub = self._redis.pubsub()
        # A placeholder channel keeps the connection in subscribed mode even when idle;
        # the listeners' channels follow through the sync.
        await pubsub.subscribe(self._wire(ALIVE_CHANNEL))
        # redis-py may also reconnect this connection by itself (its retry policy) and
        # resubscribe: that is a new connection too, with a gap before it.
        assert pubsub.connection is not None
        pubsub.connection.register_connect_callback(self._reconnected)
        return pubsub

    def _reconnected(self, connection: object) -> None:
        if self._pubsub is None or self._pubsub.connection is not connection:
            return  # a pooled connection this bus no longer holds
        self._connections += 1
        self._lost("redis-py reconnected the pub/sub connection")

    async def _read_forever(self) -> None:
        delay = 0.1
        while not self._stopping:
            try:
                async with self._lock:
                    self._broken = None
                    self._pubsub = await self._connect()
                    await self._sync(self._pubsub)
                self._redis_down = False
                self._connections += 1
                self._connected = True
                self._up.set()
                delay = 0.1
                while not self._stopping:
                    if self._broken is not None:
                        raise RedisConnectionError(self._broken)
                    message = await self._pubsub.get_message(timeout=READ_TIMEOUT_SECONDS)
                    if message is None:
                        continue
                    kind = message.get("type")
                    if kind == "message":
                        self._deliver(message)
                    elif kind == "subscribe":
                        self._confirmed(message["channel"])
            except (RedisError, OSError) as exc:
                if self._stopping:
                    break
                log.warning("events.redis_disconnected", error=str(exc), retry_in=delay)
                self._redis_down = True
                self._lost(str(exc))
                async with self._lock:
                    await self._close_pubsub()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _deliver(self, message: dict[str, Any]) -> None:
        channel = self._local(message["channel"].decode())
        try:
            event = orjson.loads(message["data"])
        except ValueError:
            log.warning("events.bad_payload", channel=channel)
            return
        try:
            self._dispatch(channel, event)
        except Exception:
            # A listener's bug must not end the reader: every other channel would go
            # silent with it.
            log.exception("events.dispatch_failed", channel=channel)


def _encode(event: Event) -> bytes:
    # orjson: a status payload is a few kilobytes and the stdlib encoder was a visible
    # share of every write. Integer keys are written as strings, as the stdlib did.
    return orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS)


def _chunks(channels: list[str]) -> list[list[str]]:
    return [
        channels[i : i + MAX_CHANNELS_PER_COMMAND]
        for i in range(0, len(channels), MAX_CHANNELS_PER_COMMAND)
    ]


def _resolve(waiters: list[asyncio.Future[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
