"""Scheduled statuses: the rules (Mastodon's) and their publication.

`POST /api/v1/statuses` with a `scheduled_at` at least `SCHEDULED_STATUS_MIN_LEAD_SECONDS`
(Mastodon: five minutes) ahead keeps the status with its parameters instead of posting it
(a time already past posts it now, as Mastodon does); at most `TOTAL_LIMIT` pending per
account and `DAILY_LIMIT` due on one (UTC) day. Its media are held (media/service.hold).

`PUBLISH_JOB` {"scheduled_status_id"} is queued with the delay left, under a job id that
names the time (a rescheduled row gets a job of its own; the old one finds it not due).
Publication is one transaction: the row is claimed by deleting it (repository.claim_due),
then posted through `statuses.service.create_status` (every rule of a post: visibility,
mentions, fan-out, notifications, polls, media). Two runs at once: one deletes the row,
the other waits for it and finds nothing; a run killed before its commit leaves the row,
and the job's redelivery or the sweeper (tasks.py) posts it. A status that cannot be
posted any more (its author suspended, the status it replied to gone, a rule broken) is
dropped, as Mastodon drops it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.core.pagination import Page
from connecthub.errors import ConnectHubError, NotFound, ValidationFailed
from connecthub.infra import idempotency
from connecthub.infra.engines import Engines
from connecthub.infra.uow import UnitOfWork
from connecthub.media import service as media_service
from connecthub.media.models import MediaAttachment
from connecthub.scheduled import repository
from connecthub.scheduled.models import ScheduledStatus
from connecthub.scheduled.schemas import draft_of, params_of
from connecthub.statuses import service as statuses_service
from connecthub.statuses.schemas import StatusDraft

PUBLISH_JOB = "scheduled.publish"
IDEMPOTENCY_SCOPE = "statuses.schedule"
TOTAL_LIMIT = 300
DAILY_LIMIT = 25

log = structlog.get_logger(__name__)


class ScheduleRefused(ValidationFailed):
    """422 in Mastodon's words (its model validation's full message)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)
        self.message = f"Validation failed: {message}"
        self.args = (self.message,)


def for_later(settings: Settings, when: datetime | None) -> datetime | None:
    """`when` if the status is to be kept for then; None when it is posted now (no time,
    or a time already past, as Mastodon). Too soon to keep is a 422."""
    now = utcnow()
    if when is None or when <= now:
        return None
    _check_lead(settings, when, now)
    return when


def _check_lead(settings: Settings, when: datetime, now: datetime) -> None:
    if when < now + timedelta(seconds=settings.scheduled_status_min_lead_seconds):
        raise ScheduleRefused(
            "scheduled_at", "Scheduled at The scheduled date must be in the future"
        )


async def _check_limits(
    uow: UnitOfWork, account_id: int, when: datetime, row_id: int | None = None
) -> None:
    session = uow.session
    if row_id is None and await repository.count_pending(session, account_id) >= TOTAL_LIMIT:
        raise ScheduleRefused(
            "scheduled_at", f"You have exceeded the limit of {TOTAL_LIMIT} scheduled posts"
        )
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    on_day = await repository.count_pending(
        session, account_id, between=(day, day + timedelta(days=1)), excluding=row_id
    )
    if on_day >= DAILY_LIMIT:
        raise ScheduleRefused(
            "scheduled_at",
            f"You have exceeded the limit of {DAILY_LIMIT} scheduled posts for today",
        )


def publish_job_id(scheduled_id: int, when: datetime) -> str:
    if when.tzinfo is None:  # SQLite gives naive datetimes; stored times are UTC
        when = when.replace(tzinfo=UTC)
    return f"scheduled-publish:{scheduled_id}:{round(when.timestamp() * 1000)}"


def _queue_publication(uow: UnitOfWork, row: ScheduledStatus) -> None:
    delay = max((row.scheduled_at - utcnow()).total_seconds(), 0.0)
    uow.enqueue(
        PUBLISH_JOB,
        {"scheduled_status_id": row.id},
        job_id=publish_job_id(row.id, row.scheduled_at),
        delay_seconds=delay,
    )


async def schedule(
    uow: UnitOfWork,
    settings: Settings,
    *,
    account_id: int,
    draft: StatusDraft,
    when: datetime,
    application_id: int | None = None,
    idempotency_key: str | None = None,
) -> ScheduledStatus:
    """Keep `draft` to be posted at `when` (`for_later` said so). With an
    `Idempotency-Key`, a retry answers the first request's scheduled status."""
    claim = None
    if idempotency_key:
        claim = await idempotency.claim(uow.session, account_id, IDEMPOTENCY_SCOPE, idempotency_key)
        if claim.previous is not None:
            return await access_scheduled(
                uow, account_id, int(str(claim.previous["scheduled_status_id"]))
            )
    media_ids = await statuses_service.check_draft(uow, settings, account_id, draft)
    await _check_limits(uow, account_id, when)
    row = ScheduledStatus(
        account_id=account_id,
        scheduled_at=when,
        params=dict(params_of(draft, media_ids, application_id)),
        created_at=utcnow(),
    )
    uow.session.add(row)
    await uow.session.flush()
    await media_service.hold(
        uow, account_id=account_id, scheduled_status_id=row.id, media_ids=media_ids
    )
    _queue_publication(uow, row)
    if claim is not None and claim.record is not None:
        await idempotency.remember(uow.session, claim.record, {"scheduled_status_id": str(row.id)})
    return row


async def access_scheduled(
    uow: UnitOfWork, account_id: int, scheduled_id: int, *, for_update: bool = False
) -> ScheduledStatus:
    """The caller's own scheduled status; anyone else's is as good as missing (404)."""
    row = await repository.owned(uow.session, account_id, scheduled_id, for_update=for_update)
    if row is None:
        raise NotFound()
    return row


async def page_of(uow: UnitOfWork, account_id: int, page: Page) -> list[ScheduledStatus]:
    return await repository.page_of(uow.session, account_id, page)


async def reschedule(
    uow: UnitOfWork, settings: Settings, row: ScheduledStatus, when: datetime
) -> ScheduledStatus:
    """A new time, by the same rules; the publication is queued again for it."""
    _check_lead(settings, when, utcnow())
    await _check_limits(uow, row.account_id, when, row.id)
    row.scheduled_at = when
    await uow.session.flush()
    _queue_publication(uow, row)
    return row


async def cancel(uow: UnitOfWork, settings: Settings, row: ScheduledStatus) -> None:
    """Never posted; its media are unattached again (and expire)."""
    await media_service.release_held(uow, settings, row.id)
    await repository.delete_row(uow.session, row.id)


async def publish(engines: Engines, scheduled_id: int) -> int | None:
    """Post the scheduled status if it is due and still there, exactly once (module
    docstring). The new status' id; None when there was nothing to post."""
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        try:
            posted = await _publish_in(uow, scheduled_id)
        except _Dropped as dropped:
            await uow.rollback()
            log.info("scheduled.dropped", scheduled_status_id=scheduled_id, reason=dropped.reason)
            await _drop(engines, scheduled_id)
            return None
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()
        return posted


class _Dropped(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _publish_in(uow: UnitOfWork, scheduled_id: int) -> int | None:
    claimed = await repository.claim_due(uow.session, scheduled_id, utcnow())
    if claimed is None:
        return None  # posted, cancelled, or moved later (its own job comes then)
    account_id, params = claimed
    try:
        posted = await statuses_service.create_status(
            uow,
            uow.engines.settings,
            account_id=account_id,
            draft=draft_of(params),
            application_id=_application_id(params),
        )
    except ConnectHubError as exc:
        raise _Dropped(exc.message) from None
    return posted.status.id


def _application_id(params: dict[str, Any]) -> int | None:
    value = params.get("application_id")
    return int(value) if value is not None else None


async def _drop(engines: Engines, scheduled_id: int) -> None:
    """A status that cannot be posted any more is claimed without posting: its media are
    unattached again (and expire)."""
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        try:
            await media_service.release_held(uow, engines.settings, scheduled_id)
            await repository.delete_row(session, scheduled_id)
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()


async def due_before(engines: Engines, cutoff: datetime, limit: int) -> list[tuple[int, datetime]]:
    """Scheduled statuses due before `cutoff` and not posted (the sweeper's question)."""
    async with engines.db.session(readonly=True) as session:
        return await repository.due_before(session, cutoff, limit)


async def held_media(
    uow: UnitOfWork, rows: list[ScheduledStatus]
) -> dict[int, list[MediaAttachment]]:
    """The media each of `rows` holds, in one query (for their entities)."""
    return await media_service.held_media(uow.session, [row.id for row in rows])
