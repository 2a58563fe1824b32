"""Background jobs of the statuses domain."""

from __future__ import annotations

from connecthub.infra.jobs import JobContext, Payload, job
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses.interactions import notify_poll_ended
from connecthub.statuses.service import (
    NOTIFY_SUBSCRIBERS_JOB,
    POLL_EXPIRED_JOB,
    notify_subscribers,
)


@job(POLL_EXPIRED_JOB)
async def poll_expired(ctx: JobContext, payload: Payload) -> None:
    """Idempotent: notifications are unique per (recipient, type, sender, poll)."""
    async with ctx.engines.db.session() as session:
        uow = UnitOfWork(ctx.engines, session)
        try:
            await notify_poll_ended(uow, int(payload["poll_id"]))
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()


@job(NOTIFY_SUBSCRIBERS_JOB)
async def notify_subscribers_chunk(ctx: JobContext, payload: Payload) -> None:
    """A new status: its author's subscribers in chunks of `HOME_FAN_OUT_BATCH` by account
    id, each chunk one transaction that queues the next after it commits. Idempotent:
    notifications are unique per (recipient, type, sender, status)."""
    status_id = int(payload["status_id"])
    after = int(payload.get("after", 0))
    async with ctx.engines.db.session() as session:
        uow = UnitOfWork(ctx.engines, session)
        try:
            last = await notify_subscribers(
                uow, status_id, after=after, size=ctx.engines.settings.home_fan_out_batch
            )
            if last is not None:
                uow.enqueue(
                    NOTIFY_SUBSCRIBERS_JOB,
                    {"status_id": status_id, "after": last},
                    job_id=f"notify-subscribers:{status_id}:{last}",
                )
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()
