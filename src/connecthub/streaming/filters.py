"""Per-recipient rules for shared (topic) streams: drop statuses by accounts the viewer
blocks, is blocked by, or mutes.

The sets are loaded on the first event that needs them, then kept fresh two ways: a
`relationships_changed` event on the viewer's `user:{id}` channel invalidates them at once,
and they are reloaded anyway once they are older than `RELOAD_SECONDS` (a safety net for
changes whose event was lost).
"""

from __future__ import annotations

import time
from typing import Any

from connecthub.infra.engines import Engines
from connecthub.streaming import repository

RELOAD_SECONDS = 60.0


class Relations:
    def __init__(self, engines: Engines, viewer_id: int) -> None:
        self._engines = engines
        self._viewer_id = viewer_id
        self._hidden: frozenset[int] = frozenset()
        self._loaded_at: float | None = None

    def invalidate(self) -> None:
        self._loaded_at = None

    async def _current(self) -> frozenset[int]:
        now = time.monotonic()
        if self._loaded_at is None or now - self._loaded_at > RELOAD_SECONDS:
            async with self._engines.db.session(readonly=True) as session:
                blocked = await repository.blocked_either_way(session, self._viewer_id)
                muted = await repository.muted_by(session, self._viewer_id)
            self._hidden = frozenset(blocked | muted)
            self._loaded_at = now
        return self._hidden

    async def hides(self, status: dict[str, Any]) -> bool:
        """Whether this status (or the one it boosts, or someone it mentions) involves an
        account hidden from the viewer. The viewer's own statuses always pass."""
        account = status.get("account")
        if isinstance(account, dict) and str(account.get("id")) == str(self._viewer_id):
            return False
        involved = _involved_accounts(status)
        if not involved:
            return False
        hidden = await self._current()
        return bool(involved & hidden)


def _involved_accounts(status: dict[str, Any]) -> set[int]:
    ids: set[int] = set()
    for entity in (status, status.get("reblog")):
        if not isinstance(entity, dict):
            continue
        account = entity.get("account")
        if isinstance(account, dict) and str(account.get("id", "")).isdigit():
            ids.add(int(account["id"]))
        for mention in entity.get("mentions") or ():
            if isinstance(mention, dict) and str(mention.get("id", "")).isdigit():
                ids.add(int(mention["id"]))
    return ids
