"""Automated detection: what is queued for judging, and what a judgement does.

Requests only queue work (`queue_status`, `queue_profile`, `note_follow`, the sign-up hook's
count); the model runs in jobs (tasks.py). A judgement that trips becomes a `Decision`: a
verdict row naming its reason (detection/models.py; its unique key makes a retried job decide
nothing twice), a system report in the moderation queue (sink.py), and for spam the action
`SPAM_ACTION` names: `rate_limit` (the account's new statuses refused with 429 until the
window ends) or `hold` (its login back among those awaiting approval).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from connecthub.accounts import service as accounts_service
from connecthub.accounts.signup_hooks import Joined
from connecthub.accounts.suspension import hold_for_approval
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.detection import classifier, repository, sink, spam
from connecthub.detection.models import SUBJECT_ACCOUNT, SUBJECT_PROFILE, SUBJECT_STATUS
from connecthub.errors import TooManyRequests
from connecthub.ids import new_id
from connecthub.infra.engines import Engines
from connecthub.infra.uow import UnitOfWork
from connecthub.ops import audit
from connecthub.statuses import service as statuses_service
from connecthub.statuses.models import HeldReason, Status, Visibility

STATUS_JOB = "detection.score_status"
PROFILE_JOB = "detection.score_profile"
SPAM_JOB = "detection.account_spam"
SYSTEM_ACTOR = "system:detection"

REPORT = "report"
RATE_LIMIT = "rate_limit"
HOLD = "hold"

log = structlog.get_logger(__name__)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def _scored(settings: Settings, visibility: int) -> bool:
    # Private and direct statuses are their audience's business: never scored.
    return settings.detection_enabled and visibility <= Visibility.UNLISTED


def queue_status(
    uow: UnitOfWork, settings: Settings, status: Status, *, edit: bool, new_account: bool = True
) -> None:
    """After the commit, judge a new or edited public/unlisted status (an edit is scored
    again, but its links and text are not counted twice by the spam heuristics).

    The text rides with the job when a score is all it may need (a published status, and
    no spam heuristics to run: an edit, or an account past its first hours): the job then
    reads the status only for a score over a threshold (`score_status`)."""
    if not _scored(settings, status.visibility):
        return
    version = _digest(status.spoiler_text, status.text)
    payload: dict[str, object] = {"status_id": status.id, "edit": edit}
    if status.held_reason is None and (edit or not new_account):
        payload["text"] = _scored_text(status.spoiler_text, status.text)
    uow.enqueue(STATUS_JOB, payload, job_id=f"detect:status:{status.id}:{version}")


def queue_profile(uow: UnitOfWork, settings: Settings, account_id: int, *texts: str) -> None:
    """After the commit, judge a changed display name or bio (`texts`: their new values)."""
    if settings.detection_enabled:
        version = _digest(*texts)
        uow.enqueue(
            PROFILE_JOB, {"account_id": account_id}, job_id=f"detect:profile:{account_id}:{version}"
        )


def note_follow(uow: UnitOfWork, account_id: int) -> None:
    """Count a follow after the commit (one round trip to the counter, no statement); a
    new account over the limit is judged by a job."""
    engines = uow.engines

    async def count() -> None:
        trip = await spam.follow_trip(engines.windows, engines.settings, account_id)
        if trip is not None:
            # Straight to the queue (best effort, as the count is): the job checks the
            # account's age and decides once per window.
            await engines.jobs.enqueue(
                SPAM_JOB,
                {"account_id": account_id, **_trip_payload(trip)},
                job_id=f"detect:spam:{account_id}:{trip.key}",
            )

    if engines.settings.detection_enabled:
        uow.after_commit(count)


def _trip_payload(trip: spam.Trip) -> dict[str, object]:
    return {
        "heuristic": trip.heuristic,
        "count": trip.count,
        "limit": trip.limit,
        "window_seconds": trip.window_seconds,
        "detail": trip.detail,
    }


def _throttle_key(account_id: int) -> str:
    return f"detection:throttled:{account_id}"


async def check_posting(uow: UnitOfWork, settings: Settings, account_id: int, new: bool) -> None:
    """Refuse a post from a new account a spam heuristic rate-limited (429, naming why)."""
    if not new or settings.spam_action != RATE_LIMIT or not settings.detection_enabled:
        return
    reason = await uow.engines.cache.get(_throttle_key(account_id))
    if reason is not None:
        raise TooManyRequests(f"Posting is limited for now: {reason.decode()}")


@dataclass(frozen=True)
class Decision:
    subject: str
    subject_id: int
    account_id: int
    key: str
    score: float
    reason: str
    category: str
    status_ids: Sequence[int] = ()
    spam: bool = False


def _offensive(
    settings: Settings, subject: str, subject_id: int, account_id: int, text: str, score: float
) -> Decision | None:
    threshold = settings.detection_report_threshold
    if score < threshold:
        return None
    where = "the status" if subject == SUBJECT_STATUS else "the display name or bio"
    return Decision(
        subject=subject,
        subject_id=subject_id,
        account_id=account_id,
        key=_digest(text),
        score=score,
        reason=f"offensive language in {where}: score {score:.2f} (threshold {threshold:.2f})",
        category=sink.CATEGORY_OFFENSIVE,
        status_ids=(subject_id,) if subject == SUBJECT_STATUS else (),
    )


def _from_trip(account_id: int, trip: spam.Trip, status_ids: Sequence[int] = ()) -> Decision:
    return Decision(
        subject=SUBJECT_ACCOUNT,
        subject_id=account_id,
        account_id=account_id,
        key=trip.key,
        score=trip.count / trip.limit,
        reason=trip.reason,
        category=sink.CATEGORY_SPAM,
        status_ids=status_ids,
        spam=True,
    )


def _scored_text(spoiler_text: str, text: str) -> str:
    return f"{spoiler_text}\n{text}".strip()


async def _score(settings: Settings, text: str) -> float:
    batch = classifier.scorer(settings.detection_batch_size, settings.detection_batch_wait_ms)
    return await batch.score(text)


async def score_status(
    engines: Engines, status_id: int, *, edit: bool, queued_text: str | None = None
) -> None:
    """The status job: the spam heuristics (a new account's new status), then the model.
    A status held for its score (DETECTION_HOLD_THRESHOLD) is settled in the decisions'
    transaction: published below the threshold, held for a moderator at or above it.

    With the text it was queued with (`queue_status`), a score under both thresholds ends
    the job before any read: the status, deleted or edited since or not, would lead to no
    decision (an edit has a job of its own)."""
    settings = engines.settings
    queued_score = None
    if queued_text is not None:
        queued_score = await _score(settings, queued_text)
        if queued_score < settings.detection_report_threshold and not _over_hold(
            settings, queued_score
        ):
            return
    async with engines.db.session(readonly=True) as session:
        found = await repository.status_text(session, status_id)
    if found is None or not _scored(settings, found.visibility):
        return
    decisions: list[Decision] = []
    if not edit and spam.is_new(settings, found.account_created_at):
        trips = await spam.status_trips(engines.windows, settings, found.account_id, found.text)
        decisions += [_from_trip(found.account_id, trip, (status_id,)) for trip in trips]
    text = _scored_text(found.spoiler_text, found.text)
    if queued_score is not None and text == queued_text:
        score = queued_score
    else:
        score = await _score(settings, text)
    offensive = _offensive(settings, SUBJECT_STATUS, status_id, found.account_id, text, score)
    if offensive is not None:
        decisions.append(offensive)
    settle = None
    if found.held_reason == HeldReason.SCORING:
        settle = _settle_held(status_id, found.account_id, score)
    elif found.held_reason is None and _over_hold(settings, score):
        # Published before (an edit, or posted before the threshold was set): taken back.
        settle = _take_back(status_id, found.account_id, score)
    await decide(engines, decisions, settle)


def _over_hold(settings: Settings, score: float) -> bool:
    threshold = settings.detection_hold_threshold
    return settings.detection_enabled and threshold is not None and score >= threshold


def _record_hold(account_id: int, status_id: int, score: float, threshold: float) -> None:
    audit.record(
        "detection.decided",
        actor=SYSTEM_ACTOR,
        action=HOLD,
        outcome=audit.Outcome.DONE,
        target_account_id=account_id,
        subject=SUBJECT_STATUS,
        subject_id=status_id,
        reason=f"offensive language in the status: score {score:.2f} "
        f"(hold threshold {threshold:.2f}); held for review",
    )


def _take_back(status_id: int, account_id: int, score: float) -> Settle:
    async def settle(uow: UnitOfWork) -> None:
        threshold = uow.engines.settings.detection_hold_threshold
        status = await statuses_service.readable_status(uow.session, None, status_id)
        if status is None or threshold is None:
            return
        await statuses_service.hold_published(uow, status, HeldReason.DETECTION)
        _record_hold(account_id, status_id, score, threshold)

    return settle


def _settle_held(status_id: int, account_id: int, score: float) -> Settle:
    """Publish a status that waited for its score, or keep it held for a moderator."""

    async def settle(uow: UnitOfWork) -> None:
        settings = uow.engines.settings
        status = await statuses_service.held_status(uow, status_id)
        if status is None or status.held_reason != HeldReason.SCORING:
            return  # settled by an earlier run of the job, or deleted
        threshold = settings.detection_hold_threshold
        if threshold is None or score < threshold:
            await statuses_service.publish_held(uow, settings, status)
            return
        status.held_reason = HeldReason.DETECTION
        _record_hold(account_id, status_id, score, threshold)

    return settle


async def score_profile(engines: Engines, account_id: int) -> None:
    """The profile job: the display name and bio as they are now."""
    settings = engines.settings
    if not settings.detection_enabled:
        return
    async with engines.db.session(readonly=True) as session:
        found = await repository.profile_text(session, account_id)
    if found is None:
        return
    text = f"{found.display_name}\n{found.note}".strip()
    if not text:
        return
    score = await _score(settings, text)
    decision = _offensive(settings, SUBJECT_PROFILE, account_id, account_id, text, score)
    await decide(engines, [decision] if decision else [])


async def account_spam(engines: Engines, account_id: int, trip: spam.Trip) -> None:
    """The job of a count that tripped outside a status (follows): a new account's only."""
    async with engines.db.session(readonly=True) as session:
        created_at = await repository.account_created_at(session, account_id)
    if created_at is not None and spam.is_new(engines.settings, created_at):
        await decide(engines, [_from_trip(account_id, trip)])


async def on_sign_up(uow: UnitOfWork, settings: Settings, joined: Joined) -> None:
    """The sign-up hook: count the address range; past its limit, the new account is
    decided on in the sign-up's own transaction."""
    if not settings.detection_enabled:
        return
    trip = await spam.sign_up_trip(uow.engines.windows, settings, joined.ip)
    if trip is not None:
        await _decide(uow, settings, _from_trip(joined.account.id, trip))


Settle = Callable[[UnitOfWork], Awaitable[None]]


async def _hold_status(uow: UnitOfWork, status_id: int) -> None:
    """Take a published status back for a moderator's review (it may be gone by now)."""
    status = await statuses_service.readable_status(uow.session, None, status_id)
    if status is not None:
        await statuses_service.hold_published(uow, status, HeldReason.DETECTION)
        return
    waiting = await statuses_service.held_status(uow, status_id)
    if waiting is not None and waiting.held_reason == HeldReason.SCORING:
        waiting.held_reason = HeldReason.DETECTION  # not published by its score then


async def decide(
    engines: Engines, decisions: Sequence[Decision], settle: Settle | None = None
) -> None:
    """Record and act on decisions, in one transaction (a job's); `settle` runs in it last
    (a held status published or kept held)."""
    if not decisions and settle is None:
        return
    async with engines.db.session() as session:
        uow = UnitOfWork(engines, session)
        try:
            with audit.collecting(uow):  # the decisions' audit rows commit with them
                for decision in decisions:
                    await _decide(uow, engines.settings, decision)
                if settle is not None:
                    await settle(uow)
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()


async def _decide(uow: UnitOfWork, settings: Settings, decision: Decision) -> None:
    action = settings.spam_action if decision.spam else REPORT
    verdict_id = new_id()
    new = await repository.insert_verdict(
        uow.session,
        {
            "id": verdict_id,
            "subject": decision.subject,
            "subject_id": decision.subject_id,
            "account_id": decision.account_id,
            "key": decision.key,
            "score": decision.score,
            "reason": decision.reason,
            "action": action,
            "report_id": None,
            "created_at": utcnow(),
        },
    )
    if not new:
        return  # decided by an earlier run of the same job, or earlier in the window
    report_id = await sink.file_report(
        uow,
        account_id=decision.account_id,
        status_ids=decision.status_ids,
        category=decision.category,
        comment=f"Automatic report: {decision.reason}",
    )
    await repository.set_report(uow.session, verdict_id, report_id)
    if action == HOLD and settings.spam_hold == "statuses" and decision.status_ids:
        for status_id in decision.status_ids:
            await _hold_status(uow, status_id)
    elif action == HOLD:
        user = await accounts_service.user_for_account(uow.session, decision.account_id)
        if user is not None and user.approved:
            await hold_for_approval(uow, user)
    elif action == RATE_LIMIT:
        cache, ttl = uow.engines.cache, settings.spam_window_seconds
        reason = decision.reason.encode()

        async def throttle() -> None:
            await cache.set(_throttle_key(decision.account_id), reason, ttl)

        uow.after_commit(throttle)
    audit.record(
        "detection.decided",
        actor=SYSTEM_ACTOR,
        action=action,
        outcome=audit.Outcome.DONE,
        target_account_id=decision.account_id,
        subject=decision.subject,
        subject_id=decision.subject_id,
        reason=decision.reason,
        report_id=report_id,
    )
