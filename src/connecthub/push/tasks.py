"""Background jobs of Web Push. Nothing here runs on a request's path.

- `push.notification`: a new notification; one `push.deliver` job per subscription of the
  recipient whose alerts and policy want it.
- `push.deliver`: encrypt, sign and POST one message. 404/410 from the push service remove
  the subscription; 429, 5xx and unreachable services are retried with the queue's backoff;
  other refusals are logged and dropped. Pushes are best effort: the last attempt gives up
  with a log line rather than a dead letter.
"""

from __future__ import annotations

import structlog

from connecthub.infra.jobs import JobContext, Payload, job
from connecthub.infra.uow import UnitOfWork
from connecthub.notifications import service as notifications
from connecthub.push import delivery, service

log = structlog.get_logger(__name__)

GONE = frozenset({404, 410})


class PushDeferred(Exception):
    """The push service asked us to come back later (429, 5xx) or could not be reached."""


@job(service.FAN_OUT_JOB)
async def push_notification(ctx: JobContext, payload: Payload) -> None:
    """Idempotent: the delivery jobs are named by notification and subscription."""
    async with ctx.engines.db.session() as session:
        uow = UnitOfWork(ctx.engines, session)
        try:
            row = await notifications.for_push(uow, int(payload["notification_id"]))
            if row is not None:
                await service.fan_out(uow, row.notification)
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()


@job(service.DELIVER_JOB)
async def deliver(ctx: JobContext, payload: Payload) -> None:
    engines = ctx.engines
    subscription_id = int(payload["subscription_id"])
    fields = {"subscription_id": subscription_id, "notification_id": payload["notification_id"]}
    # The primary, not a replica: the notification was written a moment ago.
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        row = await notifications.for_push(uow, int(payload["notification_id"]))
        message = None
        if row is not None:
            message = await service.message(uow, subscription_id, row.notification, row.sender)
    if message is None:
        return
    # Only a job that sends loads the HTTP client and the encryption (push/sending.py).
    from connecthub.push import sending

    keys = await service.vapid_keys(engines)
    subject = service.vapid_subject(engines.settings)
    try:
        status = await sending.send(message, keys, subject, service.test_hosts(engines))
    except delivery.EndpointRefused as refused:
        log.warning("push.endpoint_refused", reason=str(refused), **fields)
        return
    except sending.UNREACHABLE as exc:
        _retry_or_give_up(ctx, f"{type(exc).__name__}: {exc}", fields)
        return
    if status in GONE:
        async with engines.db.session() as session:
            uow = UnitOfWork(engines, session)
            await service.forget(uow, subscription_id)
            await uow.commit()
        log.info("push.subscription_gone", status=status, **fields)
    elif status == 429 or status >= 500:
        _retry_or_give_up(ctx, f"push service answered {status}", fields)
    elif status >= 300:
        log.warning("push.refused", status=status, **fields)


def _retry_or_give_up(ctx: JobContext, reason: str, fields: dict[str, object]) -> None:
    if ctx.attempt >= ctx.engines.settings.jobs_max_attempts:
        log.warning("push.given_up", reason=reason, attempts=ctx.attempt, **fields)
        return
    raise PushDeferred(reason)
