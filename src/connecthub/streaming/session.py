"""One streaming connection, whatever its transport: the channels it listens to, the
streams it serves, a bounded mailbox, and the per-recipient filter for topic streams.

Each channel gets its own tap on the event bus that forwards `(channel, event)` into the
connection's one mailbox: an event alone does not say which channel carried it, and a
socket subscribed to `public` and `public:local` must label each copy with its stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, cast

from connecthub import channels
from connecthub.infra.engines import Engines
from connecthub.infra.events import Event, EventBusBase, Subscription
from connecthub.oauth.identity import TokenInfo
from connecthub.streaming.filters import AudienceFilter, RecipientFilters
from connecthub.streaming.streams import Stream, StreamError, StreamUnavailable

# Close codes. 1008 (policy violation) for a revoked token or suspended account: the client
# should not blindly reconnect with the same credentials (it would get 401). 1013 (try again
# later) for a consumer too slow to keep up; 1001 (going away) when the server drains.
# 1012 (service restart) when the event bus lost its upstream connection (a Redis restart):
# the socket may have missed events, and a client that reconnects catches up through REST.
# 1012 rather than 1011 (internal error): it says "reconnect", and some reconnecting
# clients (robust-websocket, by default) give up on 1011 as they do on 1008.
CLOSE_REVOKED = 1008
CLOSE_SLOW_CONSUMER = 1013
CLOSE_GOING_AWAY = 1001
CLOSE_SERVICE_RESTART = 1012
CLOSE_NORMAL = 1000


Delivery = tuple[Stream, str, Any]  # stream, event name, payload

# The filter context of each stream (by its name's first part), as Mastodon's streaming.
_FILTER_CONTEXTS = {"user": "home", "list": "home", "public": "public", "hashtag": "public"}
# Events whose payload is a status entity (a `delete` carries only the id).
_STATUS_EVENTS = frozenset({channels.UPDATE, channels.STATUS_UPDATE})


# Wake the reader at this backlog even while answers are outstanding, so a connection whose
# events keep arriving while earlier ones are being decided is never starved.
_EAGER_BACKLOG = 32


class Mailbox:
    """Bounded: when `limit` events wait undelivered the connection is over its budget.

    While `held` (answers its reader would only wait for — visibility, filter rules — are
    being fetched), arriving events queue without waking the reader; the last `release()`
    wakes it. That is one task wake per delivery, and no future or callback per recipient:
    a post fanned out to ten thousand sockets made those the collector's work.
    (A bare future rather than an asyncio.Event, and a list rather than a deque — an empty
    deque is 600 bytes: thousands of these are alive at once.)"""

    __slots__ = ("_items", "_limit", "_on_overflow", "_waiter", "held", "overflowed")

    def __init__(self, limit: int, on_overflow: Callable[[], None]) -> None:
        self._items: list[tuple[str, Event]] = []
        self._limit = limit
        self._waiter: asyncio.Future[None] | None = None
        self._on_overflow = on_overflow
        self.held = 0
        self.overflowed = False

    def offer(self, channel: str, event: Event) -> None:
        """Queue the event (in order); wake the reader unless answers are outstanding."""
        if self.overflowed:
            return
        if len(self._items) >= self._limit:
            self.overflowed = True
            self._items.clear()
            self._on_overflow()
            return
        self._items.append((channel, event))
        if not self.held or len(self._items) >= _EAGER_BACKLOG:
            self._wake()

    def hold(self) -> None:
        self.held += 1

    def release(self) -> None:
        self.held -= 1
        if not self.held and self._items:
            self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def take(self) -> list[tuple[str, Event]]:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        batch, self._items = self._items, []
        return batch


_NO_QUEUE: asyncio.Queue[Event] = asyncio.Queue(maxsize=1)


class _ChannelTap(Subscription):
    """A bus subscription for one channel that forwards into a connection's mailbox; its
    own queue is never used, so it shares one placeholder instead of holding a queue."""

    def __init__(self, bus: EventBusBase, channel: str, sink: Callable[[str, Event], None]):
        super().__init__(bus, max_pending=1)
        self.queue = _NO_QUEUE
        self._channel = channel
        self._sink = sink

    def deliver(self, event: Event) -> None:
        self._sink(self._channel, event)


class StreamSession:
    def __init__(
        self, engines: Engines, token: TokenInfo, transport: str, audience: AudienceFilter
    ) -> None:
        self.engines = engines
        self.token = token
        self.account_id = token.account_id or 0
        self._control_channel = channels.control_channel(self.account_id)
        self.transport = transport
        self.streams: dict[tuple[str, str | None], Stream] = {}
        self._audience = audience
        self._taps: dict[str, _ChannelTap] = {}
        self._mailbox = Mailbox(
            engines.settings.streaming_max_pending, lambda: self.close(CLOSE_SLOW_CONSUMER)
        )
        self.closed: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        # The event bus connection this connection's channels were subscribed on: every
        # event published on them since reaches it until that connection is lost.
        self._epoch: int | None = None

    # -- lifecycle -------------------------------------------------------------------

    async def open(self) -> None:
        """Follow the account's control channel, or StreamUnavailable (503) when the bus
        cannot confirm it (Redis down or not resubscribed yet)."""
        self._epoch = await self.engines.events.wait_connected()
        await self._tap(self._control_channel)
        self._require_live()

    def close(self, code: int) -> None:
        """Ask the transport to close with `code` (the first request wins)."""
        if not self.closed.done():
            self.closed.set_result(code)

    async def release(self) -> None:
        for tap in list(self._taps.values()):
            await tap.close()
        self._taps.clear()

    # -- streams ---------------------------------------------------------------------

    async def subscribe(self, stream: Stream) -> None:
        """Add `stream`, or StreamError (429) when the connection holds as many as
        STREAMING_MAX_SUBSCRIPTIONS (a stream already held is not one more), or
        StreamUnavailable when its channel could not be confirmed on the bus connection
        (the connection is then closed with 1012)."""
        if (
            stream.key not in self.streams
            and len(self.streams) >= self.engines.settings.streaming_max_subscriptions
        ):
            raise StreamError(429, "Too many subscriptions on this connection")
        self.streams[stream.key] = stream
        await self._tap(stream.channel)
        self._require_live()

    def _require_live(self) -> None:
        """Every channel of this connection is subscribed on the bus connection it opened
        on; otherwise events may be missed without a trace, so the connection closes with
        1012 (the client reconnects and catches up) and StreamUnavailable is raised."""
        if not self.engines.events.is_live(self._taps.keys(), self._epoch):
            self.close(CLOSE_SERVICE_RESTART)
            raise StreamUnavailable()

    async def unsubscribe(self, key: tuple[str, str | None]) -> None:
        stream = self.streams.pop(key, None)
        if stream is None:
            return
        if not any(s.channel == stream.channel for s in self.streams.values()):
            tap = self._taps.pop(stream.channel, None)
            if tap is not None:
                await tap.close()

    async def _tap(self, channel: str) -> None:
        if channel in self._taps:
            return
        bus = cast(EventBusBase, self.engines.events)
        tap = _ChannelTap(bus, channel, self._offer)
        self._taps[channel] = tap
        await tap.add(channel)

    def _offer(self, channel: str, event: Event) -> None:
        if channel == self._control_channel:
            self._control(event)
            return
        name = event.get("event")
        payload = event.get("payload")
        if name in _STATUS_EVENTS and isinstance(payload, dict):
            # Start now, batched with every local recipient of the same event, what
            # `next_deliveries` will ask: may this recipient read it, and their filter rules.
            self._audience.hold(self.account_id, payload, self._mailbox)
            if name == channels.UPDATE:
                self._audience.content.hold(self.account_id, self._mailbox)
        self._mailbox.offer(channel, event)

    def _control(self, event: Event) -> None:
        """Handled on arrival, never queued, so a revocation is not stuck behind a backlog."""
        kind = event.get("event")
        revoked = kind == channels.TOKENS_REVOKED and self.token.token_id in event.get(
            "token_ids", ()
        )
        if revoked or kind == channels.ACCOUNT_CLOSED:
            self.close(CLOSE_REVOKED)
        elif kind == channels.FILTERS_CHANGED:
            self._audience.content.forget(self.account_id)

    # -- delivery --------------------------------------------------------------------

    async def next_deliveries(self) -> list[Delivery]:
        """The next events for this connection, each once per stream that carries it,
        with the recipient's filters applied. The answers are usually in already (the
        mailbox waited for them): a delivery then awaits nothing and makes no future."""
        deliveries: list[Delivery] = []
        for channel, event in await self._mailbox.take():
            name = event.get("event")
            if not isinstance(name, str):
                continue
            payload = event.get("payload")
            for stream in self.streams.values():
                if stream.channel != channel:
                    continue
                if stream.events is not None and name not in stream.events:
                    continue
                if name in _STATUS_EVENTS and isinstance(payload, dict):
                    shown = await self._status_for(stream, name, payload)
                    if shown is not None:
                        deliveries.append((stream, name, shown))
                else:
                    deliveries.append((stream, name, payload))
        return deliveries

    async def _status_for(
        self, stream: Stream, name: str, status: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The status as this recipient receives it on `stream`, or None when they may not
        read it (THE visibility rule, `AudienceFilter`) or one of their filters hides it."""
        if stream.media_only and not _has_media(status):
            return None
        # User-channel events were addressed to this recipient already; checking them too
        # costs one batched query per status per process, and covers a stale publisher (a
        # block or a follow removed since the fan-out job chose its recipients).
        allowed = self._audience.decision(self.account_id, status)
        if not isinstance(allowed, bool):
            allowed = await allowed
        if not allowed:
            return None
        context = _FILTER_CONTEXTS.get(stream.name.split(":")[0])
        if name != channels.UPDATE or context is None:
            return status
        rules = self._audience.content.rules(self.account_id)
        if isinstance(rules, asyncio.Future):
            rules = await rules
        return RecipientFilters.apply(rules, context, status)


def _has_media(status: dict[str, Any]) -> bool:
    shown = status.get("reblog") or status
    return bool(shown.get("media_attachments"))


def encode_payload(payload: Any) -> str | None:
    """Mastodon sends `payload` as a JSON string (an id for `delete`); None when absent."""
    if payload is None:
        return None
    if isinstance(payload, str):
        return payload
    return json.dumps(payload, separators=(",", ":"))


class _Encoded:
    """The last few events' rendered messages: one event fanned out to thousands of local
    sockets is serialized once per stream label, not once per socket. Entries hold the
    payload itself, so an `id()` key cannot be reused while cached."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._entries: dict[tuple[int, str, str], tuple[Any, str]] = {}

    def get(self, payload: Any, key: tuple[str, str], render: Callable[[], str]) -> str:
        if payload is None or isinstance(payload, str):
            return render()
        full = (id(payload), *key)
        cached = self._entries.get(full)
        if cached is not None and cached[0] is payload:
            return cached[1]
        text = render()
        if len(self._entries) >= self._size:
            self._entries.pop(next(iter(self._entries)))
        self._entries[full] = (payload, text)
        return text


_rendered = _Encoded()


def websocket_message(stream: Stream, name: str, payload: Any) -> str:
    def render() -> str:
        message: dict[str, Any] = {"stream": stream.label, "event": name}
        encoded = encode_payload(payload)
        if encoded is not None:
            message["payload"] = encoded
        return json.dumps(message, separators=(",", ":"))

    return _rendered.get(payload, ("ws:" + name, "\x00".join(stream.label)), render)


def sse_message(name: str, payload: Any) -> str:
    def render() -> str:
        encoded = encode_payload(payload)
        return f"event: {name}\ndata: {encoded if encoded is not None else 'undefined'}\n\n"

    return _rendered.get(payload, ("sse:" + name, ""), render)
