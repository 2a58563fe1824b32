"""Publish/subscribe between processes: in-process (embedded) or Redis pub/sub (distributed).

A process holds one subscription per channel however many local listeners want it, so a
server worker receives only the channels its own connections need, never the firehose.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Protocol

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from connecthub.infra.redis import KeySpace

log = structlog.get_logger(__name__)

Event = dict[str, Any]
READ_TIMEOUT_SECONDS = 0.5


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
    async def subscribe(self, *channels: str, max_pending: int = 1000) -> Subscription: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class EventBusBase:
    """Local fan-out shared by both engines: channel -> the subscriptions that follow it."""

    def __init__(self) -> None:
        self._listeners: defaultdict[str, set[Subscription]] = defaultdict(set)

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
        if first_listeners:
            await self._on_first_listener(first_listeners)

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

    async def _on_first_listener(self, channels: list[str]) -> None:
        """Hook for engines that must subscribe upstream."""

    async def _on_last_listener(self, channels: list[str]) -> None:
        """Hook for engines that must unsubscribe upstream."""


class InProcessEventBus(EventBusBase):
    async def publish(self, channel: str, event: Event) -> None:
        self._dispatch(channel, event)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._listeners.clear()


class RedisEventBus(EventBusBase):
    """One pub/sub connection per process; reconnects and resubscribes if Redis restarts."""

    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        super().__init__()
        self._redis = redis
        self._keys = keys
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._stopping = False

    def _wire(self, channel: str) -> str:
        return self._keys("events", channel)

    def _local(self, wire_channel: str) -> str:
        return wire_channel.removeprefix(self._keys("events", ""))

    async def publish(self, channel: str, event: Event) -> None:
        await self._redis.publish(self._wire(channel), json.dumps(event, separators=(",", ":")))

    async def start(self) -> None:
        self._stopping = False
        self._reader = asyncio.create_task(self._read_forever(), name="events-reader")

    async def stop(self) -> None:
        # The reader polls with a timeout, so it notices the flag and leaves on its own;
        # cancelling it inside a blocking read can leave the connection half-closed.
        self._stopping = True
        if self._reader is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._reader), READ_TIMEOUT_SECONDS * 3)
            except TimeoutError:
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._reader
        await self._close_pubsub()
        self._listeners.clear()

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pubsub.aclose(), 2.0)  # type: ignore[no-untyped-call]

    async def _on_first_listener(self, channels: list[str]) -> None:
        async with self._lock:
            if self._pubsub is not None:
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.subscribe(*(self._wire(c) for c in channels))

    async def _on_last_listener(self, channels: list[str]) -> None:
        async with self._lock:
            if self._pubsub is not None:
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(*(self._wire(c) for c in channels))

    async def _connect(self) -> PubSub:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        # A placeholder channel keeps the connection in subscribed mode even when idle.
        await pubsub.subscribe(self._wire("_alive"), *(self._wire(c) for c in self._listeners))
        return pubsub

    async def _read_forever(self) -> None:
        delay = 0.1
        while not self._stopping:
            try:
                async with self._lock:
                    self._pubsub = await self._connect()
                delay = 0.1
                while not self._stopping:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=READ_TIMEOUT_SECONDS
                    )
                    if message is not None and message.get("type") == "message":
                        self._deliver(message)
            except (RedisError, OSError) as exc:
                if self._stopping:
                    break
                log.warning("events.redis_disconnected", error=str(exc), retry_in=delay)
                await self._close_pubsub()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _deliver(self, message: dict[str, Any]) -> None:
        channel = self._local(message["channel"].decode())
        try:
            event = json.loads(message["data"])
        except ValueError:
            log.warning("events.bad_payload", channel=channel)
            return
        self._dispatch(channel, event)
