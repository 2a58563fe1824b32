"""Job handlers for the job tests: run by the test process's own workers, and by real
`connecthub worker` processes started with `TASK_MODULES=tests.infra.sample_tasks`.

In-process runs are recorded in `RUNS`; handlers that must be observed across processes
write to Redis under the test's key prefix instead.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass

from connecthub.infra.jobs import JobContext, Payload, job
from connecthub.infra.redis import KeySpace


@dataclass(frozen=True)
class Run:
    attempt: int
    payload: Payload
    started_at: float  # wall clock, seconds


RUNS: defaultdict[str, list[Run]] = defaultdict(list)


def _record(ctx: JobContext, payload: Payload) -> None:
    RUNS[ctx.job_id].append(Run(ctx.attempt, payload, time.time()))


@job("sample.record")
async def record(ctx: JobContext, payload: Payload) -> None:
    _record(ctx, payload)


@job("sample.flaky")
async def flaky(ctx: JobContext, payload: Payload) -> None:
    """Fails until attempt `succeed_on`."""
    _record(ctx, payload)
    if ctx.attempt < payload["succeed_on"]:
        raise RuntimeError(f"attempt {ctx.attempt} fails on purpose")


@job("sample.always_fails")
async def always_fails(ctx: JobContext, payload: Payload) -> None:
    _record(ctx, payload)
    raise RuntimeError("fails on purpose")


# Job ids whose cause of failure an operator has fixed (`sample.fails_until_fixed`).
FIXED: set[str] = set()


@job("sample.fails_until_fixed")
async def fails_until_fixed(ctx: JobContext, payload: Payload) -> None:
    _record(ctx, payload)
    if ctx.job_id not in FIXED:
        raise RuntimeError("not fixed yet")


def sample_keys(ctx_or_prefix: JobContext | str) -> KeySpace:
    prefix = (
        ctx_or_prefix
        if isinstance(ctx_or_prefix, str)
        else ctx_or_prefix.engines.settings.redis_key_prefix
    )
    return KeySpace(prefix)


@job("sample.credit")
async def credit(ctx: JobContext, payload: Payload) -> None:
    """Credits `amount` to `account` in a ledger keyed by job id — the idempotent pattern real
    handlers follow (HSETNX: a second run writes nothing). It then holds while the test's
    hold key exists, so a test can kill the worker after the effect but before the ack."""
    redis = ctx.engines.redis
    assert redis is not None, "sample.credit needs the Redis engines"
    keys = sample_keys(ctx)
    await redis.incr(keys("sample", "starts", ctx.job_id))
    await redis.hsetnx(keys("sample", "ledger", payload["account"]), ctx.job_id, payload["amount"])
    while await redis.exists(keys("sample", "hold", ctx.job_id)):
        await asyncio.sleep(0.05)
    await redis.incr(keys("sample", "finished", ctx.job_id))


@job("sample.pause")
async def pause(ctx: JobContext, payload: Payload) -> None:
    """Records its run, then takes `seconds` (jobs that overlap on a busy worker)."""
    _record(ctx, payload)
    await asyncio.sleep(float(payload["seconds"]))
