"""Retention: personal data kept only as long as docs/privacy.md says, then purged.

One run (`privacy.retention`, queued by the sweeper every RETENTION_INTERVAL_SECONDS)
applies every rule below against one "now" from the clock. Each rule is a bounded
statement repeated until nothing is left (chunks of `CHUNK` rows, each its own
transaction), so a huge backlog never holds one long transaction, and a run killed
half-way is finished by the next one: every rule is "what is due now", never a count.

What is not here, and why (docs/privacy.md, "Retention"): unattached uploads and stored
files no row names are removed by media's own jobs and sweeps (media/tasks.py); deleted
statuses and accounts are deleted at once or by the erasure job, and an erased account's
tombstone (id and username, no personal data) is kept so the name is never reused, as
Mastodon does; consent records and deletion records are kept as proof.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from connecthub import clock
from connecthub.infra.engines import Engines
from connecthub.privacy import repository

log = structlog.get_logger(__name__)

CHUNK = 1000


async def purge(engines: Engines, now: datetime | None = None) -> dict[str, int]:
    """Apply every rule as of `now` (the clock's by default); rows handled per rule."""
    now = now or clock.utcnow()
    done: dict[str, int] = {}
    for rule in repository.RETENTION_RULES:
        condition = rule.due(engines.settings, now)
        total = 0
        while True:
            async with engines.db.transaction() as session:
                if rule.clear is None:
                    handled = await repository.delete_some(session, rule.model, condition, CHUNK)
                else:
                    handled = await repository.clear_some(
                        session, rule.model, rule.clear, condition, CHUNK
                    )
            total += handled
            if handled < CHUNK:
                break
        done[rule.name] = total
    if any(done.values()):
        log.info("privacy.retention_purged", **{k: v for k, v in done.items() if v})
    return done
