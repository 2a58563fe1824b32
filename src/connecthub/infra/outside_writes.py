"""Embedded mode: what another process commits reaches a running server's memory.

In distributed mode every process drops what a commit changed through Redis (the shared
cache, and the bus that drops near copies everywhere). In embedded mode those live in the
server's memory, and a `connecthub admin` command is a process of its own writing the same
SQLite file: the server never heard of its changes, and answered from what it held — an
erased account's posts in home pages, its token still let in — until each copy expired
(300-600 s) or the server restarted.

So a process that committed to the file says so when it closes its database (`announce`,
from `Database.dispose`): it writes a new random marker next to the database file
(`<file>-outside-writes`). The server watches that marker (`OutsideWrites`) instead of
announcing: a read of a few bytes, before a request once `OUTSIDE_WRITES_POLL_SECONDS` have
passed since the last look (the edge layer asks; an answer given at once looks without an
await, and goes the usual way when something changed), and in the background for a server
nobody asks. When the marker changed it calls
its listeners, which forget everything held that came from the database (near copies, every
entity kind's generation, cached tokens) and close streaming connections whose token no
longer lives. What they forget is read again on the next request. A command killed before it
closes its database announces nothing; the TTLs still bound what it changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog
from sqlalchemy.engine import make_url

from connecthub.clock import monotonic
from connecthub.config import Settings
from connecthub.core.tasks import cancel_and_wait

log = structlog.get_logger(__name__)

MARKER_SUFFIX = "-outside-writes"
# The background look's period when the requests' is shorter (a server nobody asks only
# needs it for its streaming connections).
BACKGROUND_SECONDS = 0.5

Listener = Callable[[], Awaitable[None]]


def marker_path(settings: Settings) -> Path | None:
    """Where an embedded database's marker lives; None when other processes cannot write
    the same data (distributed mode, Redis as the cache, an in-memory SQLite database)."""
    if not settings.is_embedded:
        return None
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        return None
    return Path(database).with_name(Path(database).name + MARKER_SUFFIX)


def announce(path: Path) -> None:
    """A new marker, whole (written aside and renamed over the old one)."""
    aside = path.with_name(f"{path.name}.{secrets.token_hex(4)}")
    try:
        aside.write_bytes(secrets.token_hex(16).encode())
        os.replace(aside, path)
    except OSError as exc:  # a read-only directory: the TTLs still bound what we changed
        log.warning("outside_writes.announce_failed", path=str(path), error=str(exc))
        with contextlib.suppress(OSError):
            aside.unlink()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


class OutsideWrites:
    """Watches the marker; calls every listener, in turn, each time it changes."""

    def __init__(self, path: Path, poll_seconds: float) -> None:
        self.path = path
        self.poll_seconds = poll_seconds
        self._listeners: list[Listener] = []
        self._seen = b""
        self._checked_at = monotonic()
        self._task: asyncio.Task[None] | None = None

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def start(self) -> None:
        self._seen = _read(self.path)
        self._task = asyncio.create_task(self._watch(), name="outside-writes")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(max(self.poll_seconds, BACKGROUND_SECONDS))
            if self.due():
                await self.check()

    def due(self) -> bool:
        """Whether it is time to look again (`check`) before answering from what is held."""
        return monotonic() - self._checked_at >= self.poll_seconds

    def nothing_new(self) -> bool:
        """No await: True when nothing was announced since the last look (looking now if
        it is due); False when the listeners must run first (`check`)."""
        if not self.due():
            return True
        if _read(self.path) != self._seen:
            return False
        self._checked_at = monotonic()
        return True

    async def check(self) -> bool:
        """Whether the marker changed since the last look (the listeners then ran)."""
        self._checked_at = monotonic()
        current = _read(self.path)
        if current == self._seen:
            return False
        self._seen = current
        log.info("outside_writes.seen", listeners=len(self._listeners))
        for listener in self._listeners:
            try:
                await listener()
            except Exception:
                log.exception("outside_writes.listener_failed")
        return True
