"""Timeline jobs: push a new status (or boost) to its audience's home streams, and tell
them when it goes. Both only publish events, so running one twice delivers an event twice
at worst, never corrupts data; clients de-duplicate `update` events by id."""

from __future__ import annotations

from typing import Any

from connecthub.infra.jobs import JobContext, job
from connecthub.statuses.models import Status, Visibility
from connecthub.statuses.serializers import status_entities
from connecthub.timelines import repository


@job("timelines.fan_out")
async def fan_out(ctx: JobContext, payload: dict[str, Any]) -> None:
    engines = ctx.engines
    async with engines.db.session(readonly=True) as session:
        status = await session.get(Status, int(payload["status_id"]))
        if status is None or status.visibility == Visibility.DIRECT:
            return  # deleted since, or a direct message (conversations deliver those)
        recipients = await repository.audience(session, status)
        [entity] = await status_entities(session, [status], None, engines.settings)
    event = {"event": "update", "payload": entity}
    for account_id in recipients:
        await engines.events.publish(f"user:{account_id}", event)


@job("timelines.remove")
async def remove(ctx: JobContext, payload: dict[str, Any]) -> None:
    engines = ctx.engines
    async with engines.db.session(readonly=True) as session:
        followers = await repository.followers_of(session, int(payload["account_id"]))
    event = {"event": "delete", "payload": str(payload["status_id"])}
    for account_id in [int(payload["account_id"]), *followers]:
        await engines.events.publish(f"user:{account_id}", event)
