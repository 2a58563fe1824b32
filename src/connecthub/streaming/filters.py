"""Per-recipient rules for statuses on streams: a viewer never receives a status whose
author (or boosted author, or a mentioned account) they block, are blocked by, or mute.

The question is asked per status, not per connection: "which accounts must not see this
status?" is one indexed query per server process, shared by all of its connections (the
answer is kept a few seconds, keyed by status id and edit time). So a post fanned out to
ten thousand sockets costs one query, and a block or mute takes effect on the next status
without any cache to invalidate.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from connecthub.infra.engines import Engines
from connecthub.streaming import repository

_KEEP_SECONDS = 5.0
_MAX_ENTRIES = 10_000

_Key = tuple[str, str]


class AudienceFilter:
    def __init__(self, engines: Engines) -> None:
        self._engines = engines
        self._answers: dict[_Key, tuple[float, asyncio.Future[frozenset[int]]]] = {}

    async def hides(self, viewer_id: int, status: dict[str, Any]) -> bool:
        author = _account_id(status.get("account"))
        if author == viewer_id:
            return False  # one's own statuses always arrive
        involved = _involved_accounts(status)
        if not involved:
            return False
        key = (str(status.get("id")), str(status.get("edited_at")))
        return viewer_id in await self._hidden_from(key, involved)

    async def _hidden_from(self, key: _Key, involved: frozenset[int]) -> frozenset[int]:
        now = time.monotonic()
        entry = self._answers.get(key)
        if entry is not None and entry[0] > now:
            if entry[1].done():
                return entry[1].result()
            return await asyncio.shield(entry[1])
        if len(self._answers) >= _MAX_ENTRIES:
            self._forget_expired(now)
        future: asyncio.Future[frozenset[int]] = asyncio.get_running_loop().create_future()
        self._answers[key] = (now + _KEEP_SECONDS, future)
        try:
            async with self._engines.db.session(readonly=True) as session:
                hidden = await repository.viewers_hiding(session, involved)
        except BaseException as exc:
            del self._answers[key]
            future.set_exception(exc)
            future.exception()  # retrieved: concurrent waiters re-raise it themselves
            raise
        future.set_result(frozenset(hidden))
        return future.result()

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, (until, _) in self._answers.items() if until <= now]:
            del self._answers[key]
        if len(self._answers) >= _MAX_ENTRIES:
            self._answers.clear()


def _account_id(account: Any) -> int | None:
    if isinstance(account, dict) and str(account.get("id", "")).isdigit():
        return int(account["id"])
    return None


def _involved_accounts(status: dict[str, Any]) -> frozenset[int]:
    ids: set[int] = set()
    for entity in (status, status.get("reblog")):
        if not isinstance(entity, dict):
            continue
        for account in (entity.get("account"), *(entity.get("mentions") or ())):
            account_id = _account_id(account)
            if account_id is not None:
                ids.add(account_id)
    return frozenset(ids)
