"""Background jobs of scheduled statuses: the publication, and its recovery by the sweeper."""

from __future__ import annotations

from connecthub.infra.jobs import JobContext, Payload, job
from connecthub.infra.sweeper import Sweep, sweep
from connecthub.scheduled.service import PUBLISH_JOB, due_before, publish, publish_job_id


@job(PUBLISH_JOB)
async def publish_scheduled(ctx: JobContext, payload: Payload) -> None:
    """Idempotent: the row is claimed in the posting transaction (service.publish)."""
    await publish(ctx.engines, int(payload["scheduled_status_id"]))


@sweep("scheduled_statuses")
async def requeue_due(run: Sweep) -> None:
    """Scheduled statuses due before the grace period and still not posted: their job was
    lost (a restarted embedded server, Redis without persistence)."""
    for scheduled_id, when in await due_before(run.engines, run.cutoff, run.limit):
        await run.enqueue(
            PUBLISH_JOB,
            {"scheduled_status_id": scheduled_id},
            job_id=publish_job_id(scheduled_id, when),
        )
