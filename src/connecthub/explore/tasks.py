"""Background work of explore: `explore.refresh_trends` scores every kind again,
`explore.embed_accounts` embeds what accounts posted since their vector was made, and
`explore.train_ranker` fits the "For you" ranker. The sweeper queues the first two once per
TRENDS_REFRESH_SECONDS and the third once per FOR_YOU_TRAIN_SECONDS, whichever process
sweeps first (a cache key held for that long says a run is recent), so they run on a
schedule wherever jobs run, with no scheduler of their own."""

from __future__ import annotations

import structlog

from connecthub.clock import utcnow
from connecthub.explore import foryou, service
from connecthub.infra.jobs import JobContext, Payload, job
from connecthub.infra.sweeper import Sweep, sweep
from connecthub.infra.uow import UnitOfWork

log = structlog.get_logger(__name__)

_RECENT_RUN_KEY = "explore:trends:recent"
_RECENT_TRAINING_KEY = "explore:for_you:trained"


@job(service.REFRESH_JOB)
async def refresh_trends(ctx: JobContext, payload: Payload) -> None:
    engines = ctx.engines
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        try:
            counted = await service.refresh_trends(
                uow, service.TrendRules.of(engines.settings), utcnow()
            )
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()
    log.info("explore.trends_refreshed", **counted)


@job(service.EMBED_JOB)
async def embed_accounts(ctx: JobContext, payload: Payload) -> None:
    """Batches of accounts that posted since their vector was made, until none is left
    (or ten batches: the next scheduled run takes the rest)."""
    engines = ctx.engines
    total = 0
    for _ in range(10):
        async with engines.db.session() as session:
            uow = UnitOfWork(engines, session)
            try:
                done = await service.embed_stale_accounts(uow, service.EMBED_BATCH)
            except BaseException:
                await uow.rollback()
                raise
            await uow.commit()
        total += done
        if done < service.EMBED_BATCH:
            break
    log.info("explore.accounts_embedded", accounts=total)


@sweep("trends")
async def queue_trends_refresh(run: Sweep) -> None:
    settings = run.engines.settings
    if not settings.trends_enabled:
        return
    ttl = max(1, int(settings.trends_refresh_seconds))
    if await run.engines.cache.add(_RECENT_RUN_KEY, b"1", ttl):
        # Queued on schedule, not recovered: not counted among the sweep's lost jobs.
        await run.engines.jobs.enqueue(service.REFRESH_JOB, {}, job_id="explore:trends")
        await run.engines.jobs.enqueue(service.EMBED_JOB, {}, job_id="explore:embeddings")


@job(foryou.TRAIN_JOB)
async def train_ranker(ctx: JobContext, payload: Payload) -> None:
    """Fits the "For you" ranker on the last two weeks of engagement (explore/foryou.py)."""
    engines = ctx.engines
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        try:
            trained = await foryou.train(uow, utcnow())
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()
    if trained is None:
        log.info("explore.ranker_not_trained", reason="too little engagement")
    else:
        log.info(
            "explore.ranker_trained",
            examples=trained.examples,
            positives=trained.positives,
            weights=dict(zip(trained.model.features, trained.model.weights, strict=True)),
        )


@sweep("for_you")
async def queue_ranker_training(run: Sweep) -> None:
    seconds = run.engines.settings.for_you_train_seconds
    if seconds <= 0:
        return
    if await run.engines.cache.add(_RECENT_TRAINING_KEY, b"1", max(1, int(seconds))):
        await run.engines.jobs.enqueue(foryou.TRAIN_JOB, {}, job_id="explore:for_you:train")
