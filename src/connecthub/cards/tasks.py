"""Background jobs of preview cards: `cards.fetch` {"status_id", "url"}."""

from __future__ import annotations

from connecthub.cards.service import FETCH_JOB, fetch_for_status
from connecthub.infra.jobs import JobContext, Payload, job


@job(FETCH_JOB)
async def fetch_card(ctx: JobContext, payload: Payload) -> None:
    await fetch_for_status(ctx.engines, int(payload["status_id"]), str(payload["url"]))
