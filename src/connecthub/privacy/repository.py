"""All SQL of the privacy domain: consent and deletion records, and the plain row deletes of
an account's erasure.

`ERASED_ROWS` is the one list of rows that go with an account and carry no rule beyond
"delete": every table that names an account is either here, handled by its own domain's
hook (statuses, media, follows, favourites, poll votes, tokens) or kept on purpose (the
deletion record). tests/privacy/test_erasure_plan.py checks that no table is forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, inspect, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import (
    Account,
    OAuthApplication,
    OAuthGrant,
    OAuthToken,
    User,
    WebSession,
)
from connecthub.analytics.models import AnalyticsEvent, AnalyticsKey
from connecthub.announcements.models import AnnouncementDismissal, AnnouncementReaction
from connecthub.config import Settings
from connecthub.conversations.models import AccountConversation
from connecthub.detection.models import DetectionVerdict
from connecthub.explore.models import AccountVector, SuggestionDismissal
from connecthub.filters.models import Filter
from connecthub.flags.models import FlagExposure
from connecthub.infra.idempotency import IdempotencyRecord
from connecthub.notifications.models import (
    Notification,
    NotificationPermission,
    NotificationPolicy,
    NotificationRequest,
)
from connecthub.oidc.models import Identity
from connecthub.portability.models import DataImport
from connecthub.privacy.models import AccountDeletion, Consent, LegalDocument
from connecthub.push.models import WebPushSubscription
from connecthub.relationships.models import (
    AccountDomainBlock,
    AccountNote,
    AccountPin,
    Block,
    FollowRequest,
    Mute,
)
from connecthub.scheduled.models import ScheduledStatus
from connecthub.statuses.models import (
    Bookmark,
    FeaturedTag,
    Status,
    StatusPin,
    TagFollow,
    ThreadMute,
)
from connecthub.strikes.models import AccountWarning, Appeal
from connecthub.timelines.models import List, ListAccount, Marker

Condition = Callable[[int], ColumnElement[bool]]


def _user_of(account_id: int) -> Any:
    return select(User.id).where(User.account_id == account_id).scalar_subquery()


def _either_way(model: Any) -> Condition:
    return lambda a: or_(model.account_id == a, model.target_account_id == a)


# (table, rows of the account), deleted in this order after its statuses.
ERASED_ROWS: list[tuple[Any, Condition]] = [
    # Never posted; the media they held are left to the media step.
    (ScheduledStatus, lambda a: ScheduledStatus.account_id == a),
    (Bookmark, lambda a: Bookmark.account_id == a),
    (AnnouncementReaction, lambda a: AnnouncementReaction.account_id == a),
    (AnnouncementDismissal, lambda a: AnnouncementDismissal.account_id == a),
    (StatusPin, lambda a: StatusPin.account_id == a),
    (TagFollow, lambda a: TagFollow.account_id == a),
    (ThreadMute, lambda a: ThreadMute.account_id == a),
    (FollowRequest, _either_way(FollowRequest)),
    (Block, _either_way(Block)),
    (Mute, _either_way(Mute)),
    (AccountDomainBlock, lambda a: AccountDomainBlock.account_id == a),
    (SuggestionDismissal, _either_way(SuggestionDismissal)),
    (AccountVector, lambda a: AccountVector.account_id == a),  # derived from its posts
    # Notes and endorsements the account wrote, and those others kept about it.
    (AccountNote, _either_way(AccountNote)),
    (AccountPin, _either_way(AccountPin)),
    (FeaturedTag, lambda a: FeaturedTag.account_id == a),
    (ListAccount, lambda a: ListAccount.account_id == a),
    (List, lambda a: List.account_id == a),  # its members go by cascade
    (Marker, lambda a: Marker.account_id == a),
    (Notification, lambda a: or_(Notification.account_id == a, Notification.from_account_id == a)),
    (
        NotificationRequest,
        lambda a: or_(
            NotificationRequest.account_id == a, NotificationRequest.from_account_id == a
        ),
    ),
    (
        NotificationPermission,
        lambda a: or_(
            NotificationPermission.account_id == a, NotificationPermission.from_account_id == a
        ),
    ),
    (NotificationPolicy, lambda a: NotificationPolicy.account_id == a),
    (AccountConversation, lambda a: AccountConversation.account_id == a),
    # Automated detection's decisions about the account (the reports they filed are the
    # moderation record, kept by the reports domain's rules).
    (DetectionVerdict, lambda a: DetectionVerdict.account_id == a),
    (OAuthGrant, lambda a: OAuthGrant.account_id == a),
    (WebPushSubscription, lambda a: WebPushSubscription.account_id == a),
    (OAuthToken, lambda a: OAuthToken.account_id == a),  # revoked at once, deleted here
    (WebSession, lambda a: WebSession.user_id == _user_of(a)),
    (Identity, lambda a: Identity.user_id == _user_of(a)),
    (IdempotencyRecord, lambda a: IdempotencyRecord.account_id == a),
    (Consent, lambda a: Consent.account_id == a),
    (Filter, lambda a: Filter.account_id == a),  # its keywords and statuses by cascade
    (FlagExposure, lambda a: FlagExposure.account_id == a),  # experiments' assignments
    (DataImport, lambda a: DataImport.account_id == a),  # its rows go by cascade
    # The account's own strikes and its appeals of them (strikes a moderator gave others
    # stay: they are the record of acts on other accounts).
    (Appeal, lambda a: Appeal.account_id == a),
    (AccountWarning, lambda a: AccountWarning.target_account_id == a),
]


async def delete_some(session: AsyncSession, model: Any, condition: Any, limit: int) -> int:
    """Delete up to `limit` rows matching `condition`; how many went. Bounded, so one
    transaction never holds a huge delete (works alike on SQLite and PostgreSQL)."""
    (key,) = inspect(model).primary_key  # every erased table has a one-column key
    chunk = select(key).where(condition).limit(limit).scalar_subquery()
    result = await session.execute(delete(model).where(key.in_(chunk)))
    return int(getattr(result, "rowcount", 0) or 0)


async def status_ids_of(session: AsyncSession, account_id: int, limit: int) -> list[int]:
    """The account's statuses and boosts, newest first (the first to leave timelines)."""
    query = (
        select(Status.id)
        .where(Status.account_id == account_id)
        .order_by(Status.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))


async def detach_applications(session: AsyncSession, account_id: int) -> None:
    """Apps the account registered stay (others may have signed in with them); they just
    lose their owner."""
    await session.execute(
        update(OAuthApplication)
        .where(OAuthApplication.owner_account_id == account_id)
        .values(owner_account_id=None)
    )


async def user_of(session: AsyncSession, account_id: int) -> User | None:
    return await session.scalar(select(User).where(User.account_id == account_id))


async def delete_user(session: AsyncSession, account_id: int) -> None:
    await session.execute(delete(User).where(User.account_id == account_id))


async def locked_account(session: AsyncSession, account_id: int) -> Account | None:
    return await session.scalar(select(Account).where(Account.id == account_id).with_for_update())


async def deletion_of(session: AsyncSession, account_id: int) -> AccountDeletion | None:
    return await session.scalar(
        select(AccountDeletion).where(AccountDeletion.account_id == account_id)
    )


async def pending_deletions(session: AsyncSession) -> list[AccountDeletion]:
    query = (
        select(AccountDeletion)
        .where(AccountDeletion.completed_at.is_(None))
        .order_by(AccountDeletion.requested_at)
    )
    return list(await session.scalars(query))


async def stalled_deletions(session: AsyncSession, cutoff: datetime, limit: int) -> list[int]:
    """Accounts whose deletion is not completed and whose erasure has not started a run
    since `cutoff` (the sweeper's question), oldest request first."""
    last_seen = func.coalesce(AccountDeletion.progressed_at, AccountDeletion.requested_at)
    query = (
        select(AccountDeletion.account_id)
        .where(AccountDeletion.completed_at.is_(None), last_seen < cutoff)
        .order_by(AccountDeletion.requested_at)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def mark_progress(session: AsyncSession, account_id: int, at: datetime) -> None:
    await session.execute(
        update(AccountDeletion)
        .where(AccountDeletion.account_id == account_id, AccountDeletion.completed_at.is_(None))
        .values(progressed_at=at)
    )


# -- legal documents -------------------------------------------------------------------


async def documents(session: AsyncSession, kind: str | None = None) -> list[LegalDocument]:
    """Every version (drafts too), newest effective date first."""
    query = select(LegalDocument).order_by(LegalDocument.kind, LegalDocument.effective_date.desc())
    if kind is not None:
        query = query.where(LegalDocument.kind == kind)
    return list(await session.scalars(query))


async def document(
    session: AsyncSession, document_id: int, *, for_update: bool = False
) -> LegalDocument | None:
    query = select(LegalDocument).where(LegalDocument.id == document_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def document_on(session: AsyncSession, kind: str, effective: date) -> LegalDocument | None:
    """The version of `kind` whose effective date is `effective` (drafts too)."""
    return await session.scalar(
        select(LegalDocument).where(
            LegalDocument.kind == kind, LegalDocument.effective_date == effective
        )
    )


async def every_published(session: AsyncSession) -> list[LegalDocument]:
    """Published versions of every kind, newest effective date first."""
    query = (
        select(LegalDocument)
        .where(LegalDocument.published_at.is_not(None))
        .order_by(LegalDocument.effective_date.desc())
    )
    return list(await session.scalars(query))


async def published(session: AsyncSession, kind: str) -> list[LegalDocument]:
    """Published versions of `kind`, newest effective date first."""
    query = (
        select(LegalDocument)
        .where(LegalDocument.kind == kind, LegalDocument.published_at.is_not(None))
        .order_by(LegalDocument.effective_date.desc())
    )
    return list(await session.scalars(query))


# -- consents --------------------------------------------------------------------------


async def consents_of(
    session: AsyncSession, account_id: int, purpose: str | None = None
) -> list[Consent]:
    """The account's consent records, newest first (one purpose, or all)."""
    query = (
        select(Consent)
        .where(Consent.account_id == account_id)
        .order_by(Consent.granted_at.desc(), Consent.id.desc())
    )
    if purpose is not None:
        query = query.where(Consent.purpose == purpose)
    return list(await session.scalars(query))


async def withdraw_open(session: AsyncSession, account_id: int, purpose: str, at: datetime) -> int:
    """Close every record of `purpose` not yet withdrawn; how many there were."""
    result = await session.execute(
        update(Consent)
        .where(
            Consent.account_id == account_id,
            Consent.purpose == purpose,
            Consent.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def clear_some(
    session: AsyncSession, model: Any, column: str, condition: Any, limit: int
) -> int:
    """Set `column` to NULL on up to `limit` rows matching `condition`; how many."""
    chunk = select(model.id).where(condition).limit(limit).scalar_subquery()
    statement = update(model).where(model.id.in_(chunk)).values({column: None})
    result = await session.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


# -- retention (retention.py runs these) ------------------------------------------------

# A browser session ends this long after sign-in at the latest (web_auth/sessions.py).
_SESSION_LIFETIME = timedelta(days=30)


@dataclass(frozen=True)
class Rule:
    """Rows of `model` matching `due(settings, now)`: deleted, or, with `clear`, the
    named column set to NULL (the row stays)."""

    name: str
    model: Any
    due: Callable[[Settings, datetime], ColumnElement[bool]]
    clear: str | None = None


def _days(count: int) -> timedelta:
    return timedelta(days=count)


RETENTION_RULES: tuple[Rule, ...] = (
    # Sign-in history: the address a browser or an app signed in from.
    Rule(
        "session_ips",
        WebSession,
        lambda s, now: and_(
            WebSession.ip.is_not(None), WebSession.created_at < now - _days(s.retention_ip_days)
        ),
        clear="ip",
    ),
    Rule(
        "token_ips",
        OAuthToken,
        lambda s, now: and_(
            OAuthToken.last_used_ip.is_not(None),
            OAuthToken.created_at < now - _days(s.retention_ip_days),
        ),
        clear="last_used_ip",
    ),
    # Tokens that can never be used again: revoked, or expired with no refresh token.
    Rule(
        "ended_tokens",
        OAuthToken,
        lambda s, now: or_(
            OAuthToken.revoked_at < now - _days(s.retention_ended_token_days),
            and_(
                OAuthToken.refresh_token_hash.is_(None),
                OAuthToken.expires_at < now - _days(s.retention_ended_token_days),
            ),
        ),
    ),
    Rule(
        "ended_sessions",
        WebSession,
        lambda s, now: or_(
            WebSession.revoked_at < now - _days(s.retention_ended_session_days),
            WebSession.created_at < now - _days(s.retention_ended_session_days) - _SESSION_LIFETIME,
        ),
    ),
    # One-time codes (OAuth authorization codes): used, or expired unused.
    Rule(
        "used_codes",
        OAuthGrant,
        lambda s, now: or_(
            OAuthGrant.used_at < now - _days(s.retention_used_code_days),
            OAuthGrant.expires_at < now - _days(s.retention_used_code_days),
        ),
    ),
    # Product analytics: pseudonymised events a short window, then their key, after which
    # no count can be traced to anyone (analytics/service.py).
    Rule(
        "analytics_events",
        AnalyticsEvent,
        lambda s, now: AnalyticsEvent.day < (now - _days(s.analytics_event_days)).date(),
    ),
    Rule(
        "analytics_keys",
        AnalyticsKey,
        lambda s, now: (
            AnalyticsKey.period_start
            < (now - _days(s.analytics_event_days + s.analytics_key_rotation_days)).date()
        ),
    ),
    Rule(
        "idempotency_keys",
        IdempotencyRecord,
        lambda s, now: (
            IdempotencyRecord.created_at < now - timedelta(hours=s.retention_idempotency_hours)
        ),
    ),
)
