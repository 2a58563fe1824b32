"""Every open streaming connection of this server process, and their lifecycle: presence
counting, metrics, and the drain on shutdown.

Event bus gaps: when the bus loses its upstream connection (a Redis restart), every event
published until it has resubscribed is lost to this process, so every connection is closed
at once with 1012 (service restart) and clients reconnect and catch up through REST
(docs/streaming.md, "Redis restarts"). A connection opening meanwhile is refused with 503.

Graceful shutdown: uvicorn, on SIGTERM, stops its main loop and calls `shutdown()` on each
connection, which closes WebSockets with 1012 before the app's lifespan ends. So the hub
chains itself in front of uvicorn's own signal handler: it closes every socket with 1001
(going away, so clients reconnect elsewhere) and ends SSE streams, waits for them to go
(bounded by SHUTDOWN_DRAIN_SECONDS), and only then hands the signal to uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import structlog
import uvicorn

from connecthub import channels
from connecthub.infra.engines import Engines
from connecthub.infra.redis import unavailable_reason
from connecthub.oauth import tokens
from connecthub.oauth.identity import TokenInfo
from connecthub.ops.metrics import STREAMING_CONNECTIONS
from connecthub.streaming.connection_limits import Lease, connection_counter
from connecthub.streaming.filters import AudienceFilter
from connecthub.streaming.presence import PresenceService
from connecthub.streaming.session import (
    CLOSE_GOING_AWAY,
    CLOSE_REVOKED,
    CLOSE_SERVICE_RESTART,
    StreamSession,
)

log = structlog.get_logger(__name__)

# Longest the SIGTERM drain waits for sockets to acknowledge their close before uvicorn
# takes over (which then waits up to SHUTDOWN_DRAIN_SECONDS for the rest).
_DRAIN_CLOSE_SECONDS = 2.0


class StreamingHub:
    def __init__(self, engines: Engines) -> None:
        self.engines = engines
        self.presence = PresenceService(engines)
        self.audience = AudienceFilter(engines)
        self.connections = connection_counter(engines)
        # Every open connection of this process, with its place in the connection caps.
        self.sessions: dict[StreamSession, Lease] = {}
        self.draining = False
        self._emptied = asyncio.Event()
        self._restore_signal: Callable[[], None] | None = None

    async def start(self) -> None:
        self.engines.events.add_loss_listener(self._bus_connection_lost)
        await self.presence.start()
        await self.connections.start()
        self._chain_sigterm()

    async def stop(self) -> None:
        self.engines.events.remove_loss_listener(self._bus_connection_lost)
        await self.drain()
        if self._restore_signal is not None:
            self._restore_signal()
        await self.presence.stop()
        await self.connections.stop()

    # -- connections -----------------------------------------------------------------

    async def open_session(self, token: TokenInfo, transport: str) -> StreamSession:
        """A new connection of `token`, or TooManyConnections (a StreamError, 429) when the
        token or its account holds as many as the caps allow."""
        lease = await self.connections.acquire(token.account_id or 0, token.token_id)
        session = StreamSession(self.engines, token, transport, self.audience)
        # Rules kept from an earlier connection may predate a change this process did not
        # hear of (it had no connection of the account to hear it on).
        self.audience.content.forget(session.account_id)
        try:
            await session.open()
        except BaseException:
            await session.release()
            await self.connections.release(lease)
            raise
        self.sessions[session] = lease
        self._emptied.clear()
        STREAMING_CONNECTIONS.labels(transport=transport).inc()
        try:
            await self.presence.connection_opened(session.account_id)
        except Exception as exc:
            # Presence is best effort: the stream itself works without it.
            _best_effort_failed("streaming.presence_open_failed", exc)
        return session

    async def close_session(self, session: StreamSession) -> None:
        lease = self.sessions.pop(session, None)
        if lease is None:
            return
        if not self.sessions:
            self._emptied.set()
        STREAMING_CONNECTIONS.labels(transport=session.transport).dec()
        # Shielded: this often runs in a response being cancelled (its client left), where
        # every await would be cancelled again and the slot's ZREM never sent, leaving the
        # connection counted against its token until the TTL.
        await asyncio.shield(asyncio.ensure_future(self._give_back(session, lease)))

    async def _give_back(self, session: StreamSession, lease: Lease) -> None:
        try:
            await session.release()
        finally:
            await self.connections.release(lease)
        try:
            await self.presence.connection_closed(session.account_id)
        except Exception as exc:
            _best_effort_failed("streaming.presence_close_failed", exc)

    async def close_dead_tokens(self) -> None:
        """Close, as a revocation does, the connections whose token no longer lets anyone
        in: another process changed it (embedded mode, infra/outside_writes.py), and its
        revocation event never reached this process's bus."""
        if not self.sessions:
            return
        token_ids = sorted({session.token.token_id for session in self.sessions})
        live = await tokens.live_token_ids(self.engines, token_ids)
        for session in list(self.sessions):
            if session.token.token_id not in live:
                session.close(CLOSE_REVOKED)

    def _bus_connection_lost(self) -> None:
        """Called by the event bus the moment its upstream connection is lost: whatever is
        published until it is back never reaches this process, so no connection may stay
        open as if it had heard everything."""
        if not self.sessions:
            return
        log.warning("streaming.closing_for_bus_gap", connections=len(self.sessions))
        for session in list(self.sessions):
            session.close(CLOSE_SERVICE_RESTART)

    async def drain(self) -> None:
        """Close every connection with 1001 and wait (bounded) for them to go."""
        self.draining = True
        for session in list(self.sessions):
            session.close(CLOSE_GOING_AWAY)
        if not self.sessions:
            return
        self._emptied.clear()
        deadline = min(_DRAIN_CLOSE_SECONDS, float(self.engines.settings.shutdown_drain_seconds))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._emptied.wait(), deadline)

    # -- SIGTERM ---------------------------------------------------------------------

    def _chain_sigterm(self) -> None:
        """Put the drain in front of uvicorn's handler (only when uvicorn installed one:
        in-process test apps leave the process's signals alone)."""
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)
        owner = getattr(previous, "__self__", None)
        # uvicorn's server (`serving.HeartbeatServer` is one) handles the signal.
        if not callable(previous) or not isinstance(owner, uvicorn.Server):
            return
        loop = asyncio.get_running_loop()
        handed_over = False

        def hand_over(sig: int, frame: FrameType | None) -> None:
            nonlocal handed_over
            if not handed_over:
                handed_over = True
                previous(sig, frame)

        async def drain_then_exit(sig: int, frame: FrameType | None) -> None:
            try:
                await self.drain()
            finally:
                hand_over(sig, frame)

        def on_sigterm(sig: int, frame: FrameType | None) -> None:
            if self.draining:
                hand_over(sig, frame)  # a second SIGTERM: no more waiting
                return
            loop.call_soon_threadsafe(_spawn, loop, drain_then_exit(sig, frame))

        signal.signal(signal.SIGTERM, on_sigterm)
        self._restore_signal = lambda: _restore(previous)


def _best_effort_failed(event: str, exc: Exception) -> None:
    """An outage (Redis down: every connection closing at once meets it) is one line; any
    other failure is a bug and keeps its traceback."""
    reason = unavailable_reason(exc)
    if reason is not None:
        log.warning(event, reason=reason, error=str(exc))
    else:
        log.error(event, exc_info=exc)


_background: set[asyncio.Task[Any]] = set()


def _spawn(loop: asyncio.AbstractEventLoop, work: Any) -> None:
    task = loop.create_task(work)
    _background.add(task)
    task.add_done_callback(_background.discard)


def _restore(previous: Any) -> None:
    with contextlib.suppress(ValueError):
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)


async def close_account_streams(engines: Engines, account_id: int) -> None:
    """Close every streaming connection of the account, on every server process (for the
    account suspension flow; token revocation already closes the sockets of its tokens)."""
    event = channels.envelope(channels.ACCOUNT_CLOSED)
    await channels.send_now(engines.events, event, [channels.control_channel(account_id)])
