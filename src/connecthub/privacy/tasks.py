"""Background jobs of the privacy domain.

`privacy.delete_account` {"account_id", "round"?}: erase a deleted account's data. One run
does at most `erasure.CHUNKS_PER_RUN` chunks, then queues the next round under its own job
id (`account-deletion:{account}:{round}`), so a huge account never makes one endless job
and a retried run redoes only its unfinished chunk. Idempotent: see erasure.py.

`privacy.retention` {}: purge what the retention periods say is due (retention.py). The
sweeper queues it at most once per RETENTION_INTERVAL_SECONDS (a lock in the cache, so one
process of many does), under one job id per interval.

Each erasure run first records that it started (`account_deletions.progressed_at`): a deletion
neither completed nor progressed for `JOBS_SWEEP_GRACE_SECONDS` has lost its job (a queue
restarted without it), and the sweeper queues it again.
"""

from __future__ import annotations

import structlog

from connecthub.clock import utcnow
from connecthub.infra.jobs import JobContext, Payload, job
from connecthub.infra.sweeper import Sweep, sweep
from connecthub.privacy import erasure, repository, retention
from connecthub.privacy.deletion import DELETE_JOB, job_id, job_id_prefix

log = structlog.get_logger(__name__)

RETENTION_JOB = "privacy.retention"
_RETENTION_LOCK = "privacy:retention:queued"


@job(DELETE_JOB)
async def delete_account(ctx: JobContext, payload: Payload) -> None:
    account_id = int(payload["account_id"])
    round_number = int(payload.get("round", 0))
    async with ctx.engines.db.transaction() as session:
        await repository.mark_progress(session, account_id, utcnow())
    outcome = await erasure.erase(ctx.engines, account_id, max_chunks=erasure.CHUNKS_PER_RUN)
    if outcome.finished:
        log.info("privacy.account_erased", account_id=account_id, rounds=round_number + 1)
        return
    await ctx.engines.jobs.enqueue(
        DELETE_JOB,
        {"account_id": account_id, "round": round_number + 1},
        job_id=job_id(account_id, round_number + 1),
    )


@sweep("account_deletions")
async def requeue_stalled_deletions(run: Sweep) -> None:
    """Deletions whose erasure has not run for the grace period start again (the erasure
    carries on from what is left); one whose job is dead-lettered waits for an operator."""
    async with run.engines.db.session(readonly=True) as session:
        account_ids = await repository.stalled_deletions(session, run.cutoff, run.limit)
    for account_id in account_ids:
        if run.has_dead_under(job_id_prefix(account_id)):
            continue
        await run.enqueue(DELETE_JOB, {"account_id": account_id}, job_id=job_id(account_id))


@job(RETENTION_JOB)
async def purge_expired(ctx: JobContext, payload: Payload) -> None:
    await retention.purge(ctx.engines)


@sweep("retention")
async def queue_retention(run: Sweep) -> bool:
    """Not lost work but a schedule: the sweeper runs everywhere jobs run, so the retention
    job rides on it, once per interval. Queued directly, not through `run.enqueue`: it is
    not work a queue lost, and must not count or log as such. Whether it was queued."""
    interval = run.engines.settings.retention_interval_seconds
    if interval <= 0:
        return False
    if not await run.engines.cache.add(_RETENTION_LOCK, b"1", ttl_seconds=int(interval)):
        return False
    bucket = int(utcnow().timestamp() // interval)
    await run.engines.jobs.enqueue(RETENTION_JOB, {}, job_id=f"privacy-retention:{bucket}")
    return True
