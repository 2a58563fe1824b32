"""The process's copy of every flag, compiled: what evaluation reads, with no database or
Redis call per evaluation.

Consistency (ADR 0012): every change is announced on one event-bus channel once its
transaction commits; each process reloads the whole (small) table when it hears one, so a
change reaches every process within the bus's delivery plus one SELECT. The process that
made the change reloads before answering, so its own next request already sees it.

A bus that lost its connection delivers nothing of what is published meanwhile. Then this
process keeps serving the last rules it loaded and says so: `stale_reason` (shown in
`/health/ready` detail) and the `connecthub_flags_rules_stale` gauge. When the bus is back
(a new connection epoch) the table is read again, since a change may have gone unheard.
A reload every REFRESH_SECONDS bounds what any other miss could cost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from types import MappingProxyType

import structlog

from connecthub.clock import monotonic
from connecthub.core.tasks import cancel_and_wait
from connecthub.flags import repository
from connecthub.flags.models import FeatureFlag
from connecthub.flags.rules import CompiledFlag, compile_flag
from connecthub.infra.db import Database
from connecthub.infra.events import EventBus, Subscription
from connecthub.ops import metrics

log = structlog.get_logger(__name__)

# The one channel of flag changes (like the near cache's, an infrastructure channel that
# no client stream ever carries).
CHANGES_CHANNEL = "_flags:changes"
MONITOR_SECONDS = 0.2
REFRESH_SECONDS = 60.0
RETRY_SECONDS = 1.0


def compiled_row(row: FeatureFlag) -> CompiledFlag:
    """A stored flag compiled as every process holds it (a row not yet flushed has id 0)."""
    return compile_flag(
        id=row.id or 0,
        key=row.key,
        kind=row.kind,
        description=row.description,
        enabled=row.enabled,
        default_value=row.default_value,
        client_visible=row.client_visible,
        rules=row.rules,
        experiment=row.experiment,
        version=row.version,
    )


class FlagStore:
    def __init__(
        self, db: Database, events: EventBus, *, refresh_seconds: float | None = None
    ) -> None:
        self._db = db
        self._events = events
        self._refresh_seconds = refresh_seconds or REFRESH_SECONDS
        self._flags: Mapping[str, CompiledFlag] = MappingProxyType({})
        self.loaded_at: float | None = None  # monotonic time of the last successful load
        self._epoch: int | None = None  # the bus connection the rules were loaded on
        self._wanted = asyncio.Event()
        self._bus_lost = False
        self._last_error: str | None = None
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- reading (the hot path: a dict look-up) ---------------------------------------------

    def get(self, key: str) -> CompiledFlag | None:
        return self._flags.get(key)

    @property
    def flags(self) -> Mapping[str, CompiledFlag]:
        return self._flags

    @property
    def stale_reason(self) -> str | None:
        """Why this process may be serving rules older than the database's, or None."""
        if self.loaded_at is None:
            return f"rules not loaded yet ({self._last_error or 'loading'}): defaults served"
        if self._bus_lost:
            return "event bus connection lost: serving the last known rules"
        if self._last_error is not None:
            return f"reload failed ({self._last_error}): serving the last known rules"
        return None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self._subscription = await self._events.subscribe(CHANGES_CHANNEL, max_pending=1000)
        self._events.add_loss_listener(self._lost)
        with contextlib.suppress(Exception):  # logged; the reloader retries
            await self.reload()
        self._tasks = [
            asyncio.create_task(self._listen(), name="flags-listen"),
            asyncio.create_task(self._reload_when_wanted(), name="flags-reload"),
            asyncio.create_task(self._monitor(), name="flags-monitor"),
        ]

    async def stop(self) -> None:
        self._events.remove_loss_listener(self._lost)
        await cancel_and_wait(*self._tasks)
        self._tasks = []
        if self._subscription is not None:
            await self._subscription.close()
            self._subscription = None

    async def reload(self) -> None:
        """Read every flag and swap the compiled set in at once (evaluations never see half
        of a change). A failure keeps the rules held and is raised."""
        epoch = self._events.connection_epoch
        live = self._events.is_live((CHANGES_CHANNEL,), epoch)
        try:
            # The primary's rows (a change just heard of must be in them), on a reader.
            async with self._db.session(readonly=True, fresh=True) as session:
                rows = await repository.all_flags(session)
                compiled = {row.key: compiled_row(row) for row in rows}
        except Exception as exc:
            self._last_error = f"{type(exc).__name__}: {exc}"[:200]
            metrics.FLAGS_RELOADS.labels("failed").inc()
            log.warning("flags.reload_failed", error=self._last_error)
            self._publish_state()
            raise
        self._flags = MappingProxyType(compiled)
        self.loaded_at = monotonic()
        self._last_error = None
        if live:
            self._epoch = epoch
            self._bus_lost = False
        metrics.FLAGS_RELOADS.labels("done").inc()
        self._publish_state()

    def want_reload(self) -> None:
        self._wanted.set()

    # -- background ----------------------------------------------------------------------

    def _lost(self) -> None:
        self._bus_lost = True
        self._publish_state()

    def _publish_state(self) -> None:
        metrics.FLAGS_RULES_STALE.set(0 if self.stale_reason is None else 1)

    async def _listen(self) -> None:
        while True:
            subscription = self._subscription
            if subscription is None:
                return
            async for _event in subscription:
                self._wanted.set()
            # Overflowed: changes came faster than they were read. Listen afresh and read
            # the table again, which covers whatever was dropped.
            log.warning("flags.changes_overflowed")
            await subscription.close()
            self._subscription = await self._events.subscribe(CHANGES_CHANNEL, max_pending=1000)
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

    async def _monitor(self) -> None:
        while True:
            await asyncio.sleep(MONITOR_SECONDS)
            epoch = self._events.connection_epoch
            if not self._events.is_live((CHANGES_CHANNEL,), epoch):
                if not self._bus_lost:
                    self._lost()
                continue
            if epoch != self._epoch:
                # The bus is back on a new connection: what was published while it was
                # away never arrives, so read the table again.
                self._wanted.set()
            elif (
                self.loaded_at is not None and monotonic() - self.loaded_at > self._refresh_seconds
            ):
                self._wanted.set()
