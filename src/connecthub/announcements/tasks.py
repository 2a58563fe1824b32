"""`announcements.broadcast` {"event", "after"}: one announcement event to every live local
account's `user` stream, a chunk of `HOME_FAN_OUT_BATCH` accounts per run, each run queuing
the next. Idempotent enough for at-least-once delivery: a repeated chunk repeats an event
a client already applies idempotently (the same announcement, the same count)."""

from __future__ import annotations

from connecthub import channels
from connecthub.announcements.service import BROADCAST_JOB, broadcast_chunk
from connecthub.infra.jobs import JobContext, Payload, job


@job(BROADCAST_JOB)
async def broadcast(ctx: JobContext, payload: Payload) -> None:
    after = int(payload.get("after", 0))
    async with ctx.engines.db.session(readonly=True) as session:
        audience, last = await broadcast_chunk(
            session, after, ctx.engines.settings.home_fan_out_batch
        )
    await channels.send_now(ctx.engines.events, payload["event"], audience)
    if last is not None:
        await ctx.engines.jobs.enqueue(
            BROADCAST_JOB, {**payload, "after": last}, job_id=f"{ctx.job_id}:{last}"
        )
