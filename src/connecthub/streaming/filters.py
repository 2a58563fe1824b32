"""Per-recipient visibility of statuses on streams, decided by THE visibility rule
(`statuses/access.py`): a viewer receives an `update`/`status.update` only if they may read
the status (and what it boosts) — followers-only and direct audiences, blocks either way,
suspended authors — and, as Mastodon's streams do, not when they mute its author, its
boosted author or a mentioned account, or have a block with a mentioned account.

The question is asked per status for every local viewer at once: the connections that
receive one event in the same event-loop tick join one batch, answered by one query per
status per server process (chunked), and kept a few seconds by status id and edit time.
So a post fanned out to ten thousand local sockets costs a handful of queries, and a block
or mute takes effect on the next status without any cache to invalidate.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import structlog

from connecthub.infra.engines import Engines
from connecthub.streaming import repository

log = structlog.get_logger(__name__)

_KEEP_SECONDS = 5.0
_MAX_ENTRIES = 10_000

_Key = tuple[str, str]


class _Answers:
    """What is known about one status: viewers decided, and viewers waiting for a query."""

    __slots__ = ("decided", "expires", "involved", "pending", "status_id", "worker")

    def __init__(self, status_id: int, involved: frozenset[int], expires: float) -> None:
        self.status_id = status_id
        self.involved = involved
        self.expires = expires
        self.decided: dict[int, bool] = {}
        # One future per waiting call, so a connection that goes away (its task cancelled,
        # which cancels the future it awaits) takes nobody else's answer with it. (One
        # shared future per viewer would need asyncio.shield, whose two extra futures and
        # callbacks per call were a quarter of a fan-out's CPU.)
        self.pending: dict[int, list[asyncio.Future[bool]]] = {}
        self.worker: asyncio.Task[None] | None = None


class AudienceFilter:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines
        self._answers: dict[_Key, _Answers] = {}

    async def readable(self, viewer_id: int, status: dict[str, Any]) -> bool:
        """Whether this status event may be sent to `viewer_id`."""
        if _account_id(status.get("account")) == viewer_id:
            return True  # one's own statuses always arrive
        raw_id = str(status.get("id", ""))
        if not raw_id.isdigit():
            return False
        key = (raw_id, str(status.get("edited_at")))
        now = time.monotonic()
        answers = self._answers.get(key)
        if answers is None or answers.expires <= now:
            if len(self._answers) >= _MAX_ENTRIES:
                self._forget_expired(now)
            answers = _Answers(int(raw_id), _involved_accounts(status), now + _KEEP_SECONDS)
            self._answers[key] = answers
        decided = answers.decided.get(viewer_id)
        if decided is not None:
            return decided
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        answers.pending.setdefault(viewer_id, []).append(waiter)
        if answers.worker is None:
            answers.worker = asyncio.create_task(self._decide(answers))
        return await waiter

    async def _decide(self, answers: _Answers) -> None:
        # One tick: every connection woken by the same event joins this batch.
        await asyncio.sleep(0)
        try:
            while answers.pending:
                batch, answers.pending = answers.pending, {}
                try:
                    readers = await self._readers(answers, list(batch))
                except Exception:
                    # Fail closed: the event is dropped for them, the streams stay open.
                    log.exception("streaming.visibility_check_failed")
                    readers = None
                for viewer_id, waiters in batch.items():
                    allowed = readers is not None and viewer_id in readers
                    if readers is not None:
                        answers.decided[viewer_id] = allowed
                    for waiter in waiters:
                        if not waiter.done():
                            waiter.set_result(allowed)
        finally:
            answers.worker = None

    async def _readers(self, answers: _Answers, viewer_ids: list[int]) -> set[int]:
        # On the primary, not a replica: the event was published right after its commit,
        # and a lagging replica would not have the status yet.
        async with self._engines.db.session() as session:
            return await repository.stream_readers(
                session, answers.status_id, answers.involved, viewer_ids
            )

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, a in self._answers.items() if a.expires <= now and not a.worker]:
            del self._answers[key]
        if len(self._answers) >= _MAX_ENTRIES:
            self._answers = {k: a for k, a in self._answers.items() if a.worker is not None}


def _account_id(account: Any) -> int | None:
    if isinstance(account, dict) and str(account.get("id", "")).isdigit():
        return int(account["id"])
    return None


def _involved_accounts(status: dict[str, Any]) -> frozenset[int]:
    """The author, the boosted author and the mentioned accounts of a rendered status."""
    ids: set[int] = set()
    for entity in (status, status.get("reblog")):
        if not isinstance(entity, dict):
            continue
        for account in (entity.get("account"), *(entity.get("mentions") or ())):
            account_id = _account_id(account)
            if account_id is not None:
                ids.add(account_id)
    return frozenset(ids)
