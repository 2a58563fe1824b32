"""One request or job is one transaction: the unit of work commits once, at the end.

What follows a commit is of two kinds. Jobs (`enqueue`) must not be lost: they are written
as rows of the same transaction (the job outbox, infra/job_outbox.py) and relayed to the
queue right after the commit; a relay that does not happen (a crash, the queue down) is
made up by the relay loop. Events (`publish`) and other actions (`after_commit`) are best
effort: run after the commit, logged when they fail. Both are dropped on rollback.

Success means committed: once the database commit returns, nothing that follows (cache
invalidation, the relay, events) turns the write into an error or stops the others.

A request's unit of work opens its session on first use (`session`): a read answered from
caches and compiled statements (infra/compiled.py) never builds one, and a session that ran
nothing is closed without a commit. Creating, committing and closing an unused session cost
~70 µs of CPU, a tenth of a cached read (docs/benchmarks.md, "Eighth round").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.infra import audit_trail, entity_cache
from connecthub.infra.engines import Engines
from connecthub.infra.events import Event
from connecthub.infra.job_outbox import OutboxRow, QueuedJob
from connecthub.ops.audit import Entry, Outcome

log = structlog.get_logger(__name__)

AfterCommit = Callable[[], Awaitable[Any]]


class UnitOfWork:
    def __init__(
        self, engines: Engines, session: AsyncSession | None = None, *, readonly: bool = False
    ) -> None:
        """With `session`, the unit works in it (its owner closes it); without, it opens
        one on first use (on a read replica when `readonly`) and `close` closes it."""
        self.engines = engines
        self.readonly = readonly
        self._session = session
        self._after_commit: list[AfterCommit] = []
        self._jobs: list[QueuedJob] = []
        self._written: list[OutboxRow] = []
        self._audit: list[Entry] = []
        # The client's address, given to audit entries that name none (a request's).
        self.client_ip: str | None = None
        # Read-your-writes (infra/replicas.py): the account whose commit this unit makes
        # (its WAL position is remembered), and the position a read-only unit must see.
        self.account_id: int | None = None
        self.after_lsn: int | None = None

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self.engines.db.session(
                readonly=self.readonly, after_lsn=self.after_lsn
            )
        return self._session

    @property
    def opened(self) -> AsyncSession | None:
        """The session, if something has used it: reads that need no session of their own
        run in it then (its transaction), and on a connection of their own otherwise."""
        return self._session

    def entity_cache(self) -> entity_cache.EntityCache | None:
        """The shared entity cache for this unit's reads, or None while its session holds
        changes it has not committed (it must render from its own rows then)."""
        if self._session is None:
            return self.engines.db.entity_cache
        return entity_cache.of(self._session)

    async def close(self) -> None:
        """Close the session this unit opened itself (none when nothing used it)."""
        if self._session is not None:
            await self._session.close()

    def after_commit(self, action: AfterCommit) -> None:
        self._after_commit.append(action)

    def publish(self, channel: str, event: Event) -> None:
        self.after_commit(lambda: self.engines.events.publish(channel, event))

    def publish_many(self, channels: Sequence[str], event: Event) -> None:
        """One event on several channels: encoded once, one round trip."""
        self.after_commit(lambda: self.engines.events.publish_many(channels, event))

    def enqueue(
        self,
        name: str,
        payload: dict[str, Any],
        *,
        job_id: str | None = None,
        delay_seconds: float = 0,
    ) -> None:
        """THE way to run a job after this transaction commits (never if it rolls back).
        A `job_id` already queued, delayed or running is not queued again."""
        if not self._jobs:
            # Relayed at the first job's place among the after-commit actions.
            self.after_commit(self._relay)
        self._jobs.append(QueuedJob(name, payload, job_id, delay_seconds))

    def collect(self, entry: Entry) -> None:
        """An audit entry (ops/audit.py): written with this unit's commit; a refusal is
        written on its own if the unit rolls back."""
        if entry.ip is None and self.client_ip is not None:
            entry = dataclasses.replace(entry, ip=self.client_ip)
        if entry.outcome is Outcome.REFUSED:
            entry.log()  # said at once; the row follows with the commit or the rollback
        self._audit.append(entry)

    async def commit(self) -> None:
        jobs, self._jobs = self._jobs, []
        if jobs:
            self._written = await self.engines.outbox.write(self.session, jobs)
        audited, self._audit = self._audit, []
        if audited and self.readonly:
            await self._audit_apart(audited)  # a read-only unit writes nothing itself
        elif audited:
            await audit_trail.append(self.session, audited)  # last: it takes the chain's lock
        session = self._session
        if session is not None and _has_work(session):
            await session.commit()
            # From here on the write has happened: nothing below may raise to the caller.
            await entity_cache.settle(session)
            if not self.readonly:
                await self._remember_write()
        actions, self._after_commit = self._after_commit, []
        for action in actions:
            try:
                await action()
            except Exception:
                # The data is committed; a lost side effect is logged, never turned into
                # an error for a client whose write succeeded.
                log.exception("uow.after_commit_failed")
        for entry in audited:
            if entry.outcome is not Outcome.REFUSED:
                entry.log()

    async def _remember_write(self) -> None:
        """With replicas: the commit's WAL position, for the account's next reads."""
        replicas = self.engines.db.replica_set
        if replicas is None or not replicas.tracks_writes or self.account_id is None:
            return
        try:
            await replicas.remember_write(
                self.engines.cache, self.engines.db.primary, self.account_id
            )
        except Exception as exc:
            # Committed all the same; its reads may meet a lagging replica for a moment.
            log.warning("uow.write_position_lost", error=f"{type(exc).__name__}: {exc}")

    async def _audit_apart(self, entries: list[Entry]) -> None:
        """Entries written in a transaction of their own (a refusal whose request rolled
        back, or what a read-only unit collected)."""
        async with self.engines.db.transaction() as session:
            await audit_trail.append(session, entries)

    async def _relay(self) -> None:
        rows, self._written = self._written, []
        try:
            await self.engines.outbox.relay(rows)
        except Exception as exc:
            # The rows are committed: the relay loop queues them once the queue is back.
            log.warning("uow.relay_deferred", jobs=len(rows), error=f"{type(exc).__name__}: {exc}")

    async def rollback(self) -> None:
        self._after_commit.clear()
        self._jobs.clear()
        self._written = []
        # Acts done roll back with the data; refused attempts are kept.
        refused = [entry for entry in self._audit if entry.outcome is Outcome.REFUSED]
        self._audit = []
        if self._session is not None:
            await self._session.rollback()
        if refused:
            try:
                await self._audit_apart(refused)
            except Exception:
                log.exception("uow.audit_refusal_not_persisted", entries=len(refused))


def _has_work(session: AsyncSession) -> bool:
    """Something to commit: a transaction begun, or objects added, changed or deleted."""
    return session.in_transaction() or bool(session.new or session.dirty or session.deleted)
