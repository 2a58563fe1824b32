"""Background jobs of notifications: publishing what `notify_many` recorded."""

from __future__ import annotations

from connecthub.infra.jobs import JobContext, Payload, job
from connecthub.infra.uow import UnitOfWork
from connecthub.notifications.service import PUBLISH_JOB, publish


@job(PUBLISH_JOB)
async def publish_notifications(ctx: JobContext, payload: Payload) -> None:
    """At least once: a retry publishes again, and clients keep one notification per id
    (as for a repeated `update`)."""
    ids = [int(i) for i in payload["notification_ids"]]
    # The primary: the rows were committed a moment ago, a replica may not have them yet.
    async with ctx.engines.db.session() as session:
        uow = UnitOfWork(ctx.engines, session)
        await publish(uow, ids)
        await uow.commit()
