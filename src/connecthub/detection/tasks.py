"""Detection's jobs: `detection.score_status` {"status_id", "edit", "text" when a score may
be all it needs},
`detection.score_profile` {"account_id"}, `detection.account_spam` {"account_id", the trip}."""

from __future__ import annotations

from connecthub.detection import service
from connecthub.detection.spam import Trip
from connecthub.infra.jobs import JobContext, Payload, job


@job(service.STATUS_JOB)
async def score_status(ctx: JobContext, payload: Payload) -> None:
    text = payload.get("text")
    await service.score_status(
        ctx.engines,
        int(payload["status_id"]),
        edit=bool(payload.get("edit")),
        queued_text=text if isinstance(text, str) else None,
    )


@job(service.PROFILE_JOB)
async def score_profile(ctx: JobContext, payload: Payload) -> None:
    await service.score_profile(ctx.engines, int(payload["account_id"]))


@job(service.SPAM_JOB)
async def account_spam(ctx: JobContext, payload: Payload) -> None:
    trip = Trip(
        heuristic=str(payload["heuristic"]),
        count=float(payload["count"]),
        limit=int(payload["limit"]),
        window_seconds=int(payload["window_seconds"]),
        detail=str(payload.get("detail", "")),
    )
    await service.account_spam(ctx.engines, int(payload["account_id"]), trip)
