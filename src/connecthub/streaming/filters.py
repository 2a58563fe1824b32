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

`RecipientFilters` applies each recipient's content filters (filters/): their rules are
kept per process, fetched for every recipient that needs them in the same tick at once (one
cache read, one query for the misses), and dropped when `filters_changed` arrives on the
account's control channel (every connection of the account listens to it) or a new
connection of the account opens. They are also fetched again after 5 to 10 minutes,
spread so that ten thousand recipients fetched by one post do not all expire together,
and so that a lost event cannot keep old rules for long. A `hide` filter in the stream's
context drops the event; a `warn` match sends that recipient a copy carrying `filtered`.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any, Protocol

import structlog

from connecthub.clock import monotonic, utcnow
from connecthub.filters import matching
from connecthub.filters import service as filters_service
from connecthub.filters.models import RULES_KIND
from connecthub.ids import parse_id
from connecthub.infra.engines import Engines
from connecthub.streaming import repository

log = structlog.get_logger(__name__)

_KEEP_SECONDS = 5.0
_MAX_ENTRIES = 10_000

_Key = tuple[str, str]


class Holder(Protocol):
    """A connection's mailbox, held (not woken) until the answers it waits for are in."""

    def hold(self) -> None: ...
    def release(self) -> None: ...


# Who waits for an answer: a future (an awaiting call) or a held mailbox.
_Waiter = asyncio.Future[Any] | Holder


def _answer(waiter: _Waiter, value: Any) -> None:
    if isinstance(waiter, asyncio.Future):
        # One future per waiting call, so a connection that goes away (its task cancelled,
        # which cancels the future it awaits) takes nobody else's answer with it.
        if not waiter.done():
            waiter.set_result(value)
    else:
        waiter.release()


class _Answers:
    """What is known about one status: viewers decided, and viewers waiting for a query."""

    __slots__ = ("decided", "expires", "involved", "pending", "status_id", "worker")

    def __init__(self, status_id: int, involved: frozenset[int], expires: float) -> None:
        self.status_id = status_id
        self.involved = involved
        self.expires = expires
        self.decided: dict[int, bool] = {}
        self.pending: dict[int, list[_Waiter]] = {}
        self.worker: asyncio.Task[None] | None = None


class AudienceFilter:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines
        self._answers: dict[_Key, _Answers] = {}
        self.content = RecipientFilters(engines)

    async def readable(self, viewer_id: int, status: dict[str, Any]) -> bool:
        """Whether this status event may be sent to `viewer_id`."""
        known = self.decision(viewer_id, status)
        return known if isinstance(known, bool) else await known

    def decision(self, viewer_id: int, status: dict[str, Any]) -> bool | asyncio.Future[bool]:
        """The answer when known, else a future of it (its batch query under way)."""
        known, answers = self._known(viewer_id, status)
        if known is not None:
            return known
        assert answers is not None
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._wait(answers, viewer_id, waiter)
        return waiter

    def hold(self, viewer_id: int, status: dict[str, Any], holder: Holder) -> None:
        """Hold `holder` until the answer for `viewer_id` is known (at once if it is)."""
        known, answers = self._known(viewer_id, status)
        if known is None:
            assert answers is not None
            holder.hold()
            self._wait(answers, viewer_id, holder)

    def _known(self, viewer_id: int, status: dict[str, Any]) -> tuple[bool | None, _Answers | None]:
        """(the answer or None, the status's entry when the answer is still to come)."""
        if _account_id(status.get("account")) == viewer_id:
            return True, None  # one's own statuses always arrive
        raw_id = str(status.get("id", ""))
        status_id = parse_id(raw_id)
        if status_id is None:
            return False, None
        key = (raw_id, str(status.get("edited_at")))
        now = monotonic()
        answers = self._answers.get(key)
        if answers is None or answers.expires <= now:
            if len(self._answers) >= _MAX_ENTRIES:
                self._forget_expired(now)
            answers = _Answers(status_id, _involved_accounts(status), now + _KEEP_SECONDS)
            self._answers[key] = answers
        return answers.decided.get(viewer_id), answers

    def _wait(self, answers: _Answers, viewer_id: int, waiter: _Waiter) -> None:
        answers.pending.setdefault(viewer_id, []).append(waiter)
        if answers.worker is None:
            answers.worker = asyncio.create_task(self._decide(answers))

    async def _decide(self, answers: _Answers) -> None:
        # One tick: every connection woken by the same event joins this batch.
        await asyncio.sleep(0)
        batch: dict[int, list[_Waiter]] = {}
        try:
            while answers.pending:
                batch, answers.pending = answers.pending, {}
                try:
                    readers = await self._readers(answers, list(batch))
                except Exception:
                    # Fail closed: the event is dropped for them, the streams stay open (a
                    # held mailbox is released, and its reader asks again).
                    log.exception("streaming.visibility_check_failed")
                    readers = None
                for viewer_id, waiters in batch.items():
                    allowed = readers is not None and viewer_id in readers
                    if readers is not None:
                        answers.decided[viewer_id] = allowed
                    for waiter in waiters:
                        _answer(waiter, allowed)
                batch = {}
        finally:
            answers.worker = None
            # Cancelled mid-query (shutdown): nobody may stay held or waiting for good.
            for waiters in (*batch.values(), *answers.pending.values()):
                for waiter in waiters:
                    _answer(waiter, False)
            answers.pending = {}

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
    return parse_id(str(account.get("id"))) if isinstance(account, dict) else None


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


_RULES_KEEP_SECONDS = 600.0
# Well above the sockets one process holds: clearing the table refetches everyone's rules.
_MAX_RULES = 200_000


class RecipientFilters:
    """Recipients' content-filter rules, per process (see the module docstring)."""

    def __init__(self, engines: Engines) -> None:
        self._engines = engines
        self._rules: dict[int, tuple[float, matching.Rules]] = {}
        self._pending: dict[int, list[_Waiter]] = {}  # as _Answers
        self._worker: asyncio.Task[None] | None = None

    def forget(self, account_id: int) -> None:
        self._rules.pop(account_id, None)

    @staticmethod
    def apply(rules: matching.Rules, context: str, status: dict[str, Any]) -> dict[str, Any] | None:
        """The status as a recipient with these `rules` receives it in `context`, or None
        when one of their `hide` filters leaves it out."""
        if not rules:
            return status
        active = matching.ViewerFilters(rules, context, utcnow())
        if not active:
            return status
        proper = status.get("reblog") if isinstance(status.get("reblog"), dict) else status
        assert isinstance(proper, dict)
        found = [parse_id(str(s.get("id"))) for s in (status, proper)]
        ids = list(dict.fromkeys(i for i in found if i is not None))
        results, hidden = active.results(matching.entity_text(proper), ids)
        if hidden:
            return None
        if not results:
            return status
        marked = {**status, "filtered": results}
        if proper is not status:
            marked["reblog"] = {**proper, "filtered": results}
        return marked

    def rules(self, viewer_id: int) -> matching.Rules | asyncio.Future[matching.Rules]:
        """The recipient's rules when kept, else a future of them (their fetch under way)."""
        kept = self._kept(viewer_id)
        if kept is not None:
            return kept
        waiter: asyncio.Future[matching.Rules] = asyncio.get_running_loop().create_future()
        self._wait(viewer_id, waiter)
        return waiter

    def hold(self, viewer_id: int, holder: Holder) -> None:
        """Hold `holder` until the recipient's rules are kept (at once if they are)."""
        if self._kept(viewer_id) is None:
            holder.hold()
            self._wait(viewer_id, holder)

    def _kept(self, viewer_id: int) -> matching.Rules | None:
        kept = self._rules.get(viewer_id)
        return kept[1] if kept is not None and kept[0] > monotonic() else None

    def _wait(self, viewer_id: int, waiter: _Waiter) -> None:
        self._pending.setdefault(viewer_id, []).append(waiter)
        if self._worker is None:
            self._worker = asyncio.create_task(self._fetch())

    async def _fetch(self) -> None:
        await asyncio.sleep(0)  # one tick: every recipient of the same event joins the batch
        batch: dict[int, list[_Waiter]] = {}
        try:
            while self._pending:
                batch, self._pending = self._pending, {}
                try:
                    found = await self._load(list(batch))
                except Exception:
                    # Fail open for filters (they are the reader's preference, not access):
                    # the status arrives unfiltered rather than the stream going quiet.
                    log.exception("streaming.filter_rules_failed")
                    found = {}
                now = monotonic()
                if len(self._rules) >= _MAX_RULES:
                    self._rules = {k: kept for k, kept in self._rules.items() if kept[0] > now}
                    if len(self._rules) >= _MAX_RULES:
                        self._rules.clear()
                for viewer_id, waiters in batch.items():
                    rules = found.get(viewer_id, [])
                    if viewer_id in found:
                        keep = _RULES_KEEP_SECONDS * random.uniform(0.5, 1.0)
                        self._rules[viewer_id] = (now + keep, rules)
                    for waiter in waiters:
                        _answer(waiter, rules)
                batch = {}
        finally:
            self._worker = None
            for waiters in (*batch.values(), *self._pending.values()):
                for waiter in waiters:
                    _answer(waiter, [])
            self._pending = {}

    async def _load(self, viewer_ids: list[int]) -> dict[int, matching.Rules]:
        cache = self._engines.db.entity_cache
        found: dict[int, matching.Rules] = {}
        generation = b""
        if cache is not None:
            cached, generation = (await cache.get_many({RULES_KIND: viewer_ids}))[RULES_KIND]
            found.update(cached)
        missing = [i for i in viewer_ids if i not in found]
        if missing:
            async with self._engines.db.session() as session:
                loaded = await filters_service.rules_of_many(session, missing)
            found.update(loaded)
            if cache is not None:
                await cache.put_many(RULES_KIND, loaded, generation)
        return found
