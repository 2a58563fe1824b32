"""Background jobs of the privacy domain.

`privacy.delete_account` {"account_id", "round"?}: erase a deleted account's data. One run
does at most `erasure.CHUNKS_PER_RUN` chunks, then queues the next round under its own job
id (`account-deletion:{account}:{round}`), so a huge account never makes one endless job
and a retried run redoes only its unfinished chunk. Idempotent: see erasure.py.
"""

from __future__ import annotations

import structlog

from connecthub.infra.jobs import JobContext, Payload, job
from connecthub.privacy import erasure
from connecthub.privacy.deletion import DELETE_JOB, job_id

log = structlog.get_logger(__name__)


@job(DELETE_JOB)
async def delete_account(ctx: JobContext, payload: Payload) -> None:
    account_id = int(payload["account_id"])
    round_number = int(payload.get("round", 0))
    outcome = await erasure.erase(ctx.engines, account_id, max_chunks=erasure.CHUNKS_PER_RUN)
    if outcome.finished:
        log.info("privacy.account_erased", account_id=account_id, rounds=round_number + 1)
        return
    await ctx.engines.jobs.enqueue(
        DELETE_JOB,
        {"account_id": account_id, "round": round_number + 1},
        job_id=job_id(account_id, round_number + 1),
    )
