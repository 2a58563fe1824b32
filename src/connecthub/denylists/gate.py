"""Keeps the process's IP gate (http/ip_gate.py) equal to the live `no_access` IP blocks.

Every change of an IP block is announced on one event-bus channel once its transaction
commits (`announce`); each process reads the (small) list again when it hears one, so a
block reaches every process within the bus's delivery plus one SELECT, and the edge asks
no engine per request. A reload every REFRESH_SECONDS bounds what a missed announcement
(a bus that lost its connection) could cost; a block's expiry is applied by the gate
itself, at its time.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from connecthub.clock import utcnow
from connecthub.core.tasks import cancel_and_wait
from connecthub.denylists import repository
from connecthub.denylists.rules import Severity
from connecthub.http.ip_gate import IpGate, Network
from connecthub.infra.engines import Engines
from connecthub.infra.events import Subscription
from connecthub.infra.uow import UnitOfWork

log = structlog.get_logger(__name__)

# An infrastructure channel, like the flags' (no client stream ever carries it).
CHANGES_CHANNEL = "_denylists:ip_blocks"
REFRESH_SECONDS = 60.0
RETRY_SECONDS = 1.0


def announce(uow: UnitOfWork) -> None:
    """After the commit, every process reads the IP blocks again."""
    uow.publish(CHANGES_CHANNEL, {})


async def no_access_networks(engines: Engines) -> list[Network]:
    async with engines.db.session(readonly=True) as session:
        blocks = await repository.live_ip_blocks(session, utcnow())
    return [
        Network(block.ip, block.expires_at.timestamp() if block.expires_at else None)
        for block in blocks
        if block.severity == Severity.NO_ACCESS
    ]


class IpGateLoader:
    def __init__(self, engines: Engines, gate: IpGate) -> None:
        self._engines = engines
        self._gate = gate
        self._wanted = asyncio.Event()
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        events = self._engines.events
        self._subscription = await events.subscribe(CHANGES_CHANNEL, max_pending=100)
        with contextlib.suppress(Exception):  # logged; the reloader retries
            await self.reload()
        self._tasks = [
            asyncio.create_task(self._listen(), name="ip-gate-listen"),
            asyncio.create_task(self._reload_when_wanted(), name="ip-gate-reload"),
            asyncio.create_task(self._refresh(), name="ip-gate-refresh"),
        ]

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        self._tasks = []
        if self._subscription is not None:
            await self._subscription.close()
            self._subscription = None

    async def reload(self) -> None:
        try:
            networks = await no_access_networks(self._engines)
        except Exception as exc:
            log.warning("denylists.ip_gate_reload_failed", error=f"{type(exc).__name__}: {exc}")
            raise
        self._gate.replace(networks)

    async def _listen(self) -> None:
        while True:
            subscription = self._subscription
            if subscription is None:
                return
            async for _event in subscription:
                self._wanted.set()
            # Overflowed: listen afresh and read the list again.
            await subscription.close()
            self._subscription = await self._engines.events.subscribe(
                CHANGES_CHANNEL, max_pending=100
            )
            self._wanted.set()

    async def _reload_when_wanted(self) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            try:
                await self.reload()
            except Exception:
                await asyncio.sleep(RETRY_SECONDS)
                self._wanted.set()

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            self._wanted.set()
