"""Background jobs of the statuses domain."""

from __future__ import annotations

from connecthub.infra.jobs import JobContext, Payload, job
from connecthub.infra.sweeper import Sweep, sweep
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses import repository
from connecthub.statuses.interactions import notify_poll_ended
from connecthub.statuses.service import (
    NOTIFY_SUBSCRIBERS_JOB,
    POLL_EXPIRED_JOB,
    notify_subscribers,
    poll_expired_job_id,
)


@job(POLL_EXPIRED_JOB)
async def poll_expired(ctx: JobContext, payload: Payload) -> None:
    """Idempotent: notifications are unique per (recipient, type, sender, poll), and the
    poll records that its end was announced."""
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


@sweep("poll_ends")
async def requeue_unannounced_poll_ends(run: Sweep) -> None:
    """Polls past their end (by the grace period) whose voters were never told: the delayed
    job that should have told them was lost."""
    async with run.engines.db.session(readonly=True) as session:
        poll_ids = await repository.polls_ended_unannounced(session, run.cutoff, run.limit)
    for poll_id in poll_ids:
        await run.enqueue(
            POLL_EXPIRED_JOB, {"poll_id": poll_id}, job_id=poll_expired_job_id(poll_id)
        )
