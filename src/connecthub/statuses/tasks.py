"""Background jobs of the statuses domain."""

from __future__ import annotations

from connecthub.infra.jobs import JobContext, Payload, job
from connecthub.infra.uow import UnitOfWork
from connecthub.statuses.interactions import notify_poll_ended
from connecthub.statuses.service import POLL_EXPIRED_JOB


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
