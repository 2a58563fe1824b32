"""Recording consent. Other domains call this; only this package writes consent rows.

Two kinds of consent are kept in `consents`, each row one agreement with its version and
method, closed by `withdrawn_at` (never rewritten: the history stays auditable):

- the terms (purpose `terms`): accepted at sign-up and again whenever a new version of the
  terms of service comes into effect (documents.py; ADR 0032);
- optional purposes a person may grant and withdraw at any time (OPTIONAL): `analytics`
  and `email_digests` are off until granted; `presence` (being shown online and typing)
  is on until withdrawn, and its switch is the presence setting itself
  (`users.hide_presence`, owned by streaming/), so a withdrawal stops presence at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import entities
from connecthub.accounts import service as accounts
from connecthub.accounts.signup_hooks import Joined
from connecthub.analytics import service as analytics
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.errors import NotFound, ValidationFailed
from connecthub.infra.uow import UnitOfWork
from connecthub.privacy import deletion, documents, repository
from connecthub.privacy.models import AccountDeletion, Consent

TERMS = "terms"
# The privacy policy's version a person was shown at sign-up (informed consent, art. 13).
PRIVACY_POLICY = "privacy_policy"
ANALYTICS = "analytics"
EMAIL_DIGESTS = "email_digests"
PRESENCE = "presence"
OPTIONAL = (ANALYTICS, EMAIL_DIGESTS, PRESENCE)
# Shown online unless withdrawn: presence is part of what the service shows people, and
# the setting has always been an opt-out (docs/privacy.md); the others need a yes first.
_ON_UNLESS_WITHDRAWN = frozenset({PRESENCE})


class PresenceSwitch(Protocol):
    """The presence setting (streaming's PresenceService), handed in by the endpoint."""

    async def set_hidden(self, uow: UnitOfWork, account_id: int, hidden: bool) -> None: ...

    async def is_hidden(self, uow: UnitOfWork, account_id: int) -> bool: ...


def record_consent(
    session: AsyncSession,
    *,
    account_id: int,
    purpose: str,
    policy_version: str,
    method: str,
    granted_at: datetime | None = None,
) -> Consent:
    consent = Consent(
        account_id=account_id,
        purpose=purpose,
        policy_version=policy_version,
        method=method,
        granted_at=granted_at or utcnow(),
    )
    session.add(consent)
    return consent


async def record_terms_consent(uow: UnitOfWork, settings: Settings, joined: Joined) -> None:
    """The sign-up hook (accounts/signup_hooks.py, registered by the app): the versions the
    new member accepted, in the sign-up's own transaction: the terms in effect (or
    TERMS_VERSION) and, once one is published, the privacy policy in effect."""
    in_effect = await documents.every_in_effect(uow.session)
    terms = in_effect.get(documents.TERMS_OF_SERVICE)
    record_consent(
        uow.session,
        account_id=joined.account.id,
        purpose=TERMS,
        policy_version=documents.version_of(settings, terms),
        method=joined.method,
    )
    if (policy := in_effect.get(documents.PRIVACY_POLICY)) is not None:
        record_consent(
            uow.session,
            account_id=joined.account.id,
            purpose=PRIVACY_POLICY,
            policy_version=policy.effective_date.isoformat(),
            method=joined.method,
        )


# -- the terms ------------------------------------------------------------------------


def _acceptance(current: str, enforced: bool, rows: list[Consent]) -> entities.TermsAcceptance:
    accepted = next((row for row in rows if row.withdrawn_at is None), None)
    return {
        "acceptance_required": enforced
        and (accepted is None or accepted.policy_version != current),
        "current_version": current,
        "accepted_version": accepted.policy_version if accepted else None,
        "accepted_at": iso(accepted.granted_at) if accepted else None,
    }


async def terms_acceptance(
    session: AsyncSession, settings: Settings, account_id: int
) -> entities.TermsAcceptance:
    """Whether the account has accepted the terms in effect. `acceptance_required` turns
    true the day a published version takes effect, for everyone who has not accepted that
    version (POST /api/v1/connecthub/terms_acceptance). Without a published version (only
    TERMS_VERSION) nobody is asked: the sign-up agreement stands."""
    document = await documents.in_effect(session, documents.TERMS_OF_SERVICE)
    current = documents.version_of(settings, document)
    rows = await repository.consents_of(session, account_id, TERMS)
    return _acceptance(current, document is not None, rows)


async def must_accept_terms(session: AsyncSession, account_id: int) -> bool:
    """The sign-in question: one query when no published terms are in effect."""
    document = await documents.in_effect(session, documents.TERMS_OF_SERVICE)
    if document is None:
        return False
    rows = await repository.consents_of(session, account_id, TERMS)
    current = document.effective_date.isoformat()
    return _acceptance(current, True, rows)["acceptance_required"]


async def accept_terms(
    uow: UnitOfWork, settings: Settings, account_id: int, version: str, *, method: str
) -> entities.TermsAcceptance:
    """Record that the account accepts the terms in effect. `version` must name them, so
    a client that showed an older text cannot accept a newer one unseen."""
    document = await documents.in_effect(uow.session, documents.TERMS_OF_SERVICE)
    current = documents.version_of(settings, document)
    if version != current:
        raise ValidationFailed("version", f"must be the terms in effect ({current})")
    rows = await repository.consents_of(uow.session, account_id, TERMS)
    if _acceptance(current, True, rows)["acceptance_required"]:
        row = record_consent(
            uow.session,
            account_id=account_id,
            purpose=TERMS,
            policy_version=current,
            method=method,
        )
        await uow.session.flush()
        rows = [row]
    return _acceptance(current, document is not None, rows)


# -- optional purposes -----------------------------------------------------------------


def _check_purpose(purpose: str) -> str:
    if purpose not in OPTIONAL:
        raise NotFound(f"Unknown purpose: {purpose} (one of {', '.join(OPTIONAL)})")
    return purpose


def _state(purpose: str, granted: bool, rows: list[Consent]) -> entities.ConsentState:
    latest = rows[0] if rows else None
    updated = (latest.withdrawn_at or latest.granted_at) if latest else None
    return {"purpose": purpose, "granted": granted, "updated_at": iso(updated)}


async def consent_states(
    uow: UnitOfWork, account_id: int, presence: PresenceSwitch
) -> list[entities.ConsentState]:
    rows = await repository.consents_of(uow.session, account_id)
    states = []
    for purpose in OPTIONAL:
        mine = [row for row in rows if row.purpose == purpose]
        states.append(
            _state(purpose, await _granted(uow, account_id, purpose, mine, presence), mine)
        )
    return states


async def _granted(
    uow: UnitOfWork, account_id: int, purpose: str, rows: list[Consent], presence: PresenceSwitch
) -> bool:
    if purpose == PRESENCE:
        return not await presence.is_hidden(uow, account_id)
    return any(row.withdrawn_at is None for row in rows)


async def consent_to(
    uow: UnitOfWork, account_id: int, purpose: str, presence: PresenceSwitch
) -> entities.ConsentState:
    """Whether the account agrees to `purpose` now."""
    _check_purpose(purpose)
    rows = await repository.consents_of(uow.session, account_id, purpose)
    return _state(purpose, await _granted(uow, account_id, purpose, rows, presence), rows)


async def grant(
    uow: UnitOfWork, settings: Settings, account_id: int, purpose: str, presence: PresenceSwitch
) -> entities.ConsentState:
    """Agree to `purpose` under the privacy policy in effect; granting twice records once."""
    _check_purpose(purpose)
    rows = await repository.consents_of(uow.session, account_id, purpose)
    if not any(row.withdrawn_at is None for row in rows):
        rows.insert(
            0,
            record_consent(
                uow.session,
                account_id=account_id,
                purpose=purpose,
                policy_version=await documents.current_version(
                    uow.session, settings, documents.PRIVACY_POLICY
                ),
                method="api",
            ),
        )
        await uow.session.flush()
    if purpose == PRESENCE:
        await presence.set_hidden(uow, account_id, False)
    return _state(purpose, True, rows)


async def withdraw(
    uow: UnitOfWork, settings: Settings, account_id: int, purpose: str, presence: PresenceSwitch
) -> entities.ConsentState:
    """Withdraw consent to `purpose`, effective at once (presence: followers are told the
    account went offline, and no presence or typing event about it is sent any more;
    analytics: its events are deleted and none is recorded any more)."""
    _check_purpose(purpose)
    now = utcnow()
    closed = await repository.withdraw_open(uow.session, account_id, purpose, now)
    if not closed and purpose in _ON_UNLESS_WITHDRAWN:
        # On by default since sign-up, never recorded: the history shows that span.
        account = await accounts.account_by_id(uow.session, account_id)
        record_consent(
            uow.session,
            account_id=account_id,
            purpose=purpose,
            policy_version=await documents.current_version(
                uow.session, settings, documents.PRIVACY_POLICY
            ),
            method="default",
            granted_at=account.created_at if account else now,
        ).withdrawn_at = now
        await uow.session.flush()
    if purpose == PRESENCE:
        await presence.set_hidden(uow, account_id, True)
    if purpose == ANALYTICS:
        # Nothing more is recorded from this statement on (analytics reads the consent
        # with each event), and what was recorded goes with it.
        await analytics.forget(uow, account_id)
    return await consent_to(uow, account_id, purpose, presence)


async def consent_history(session: AsyncSession, account_id: int) -> list[entities.ConsentRecord]:
    """Every consent record of the account, newest first (the terms included)."""
    return [
        {
            "purpose": row.purpose,
            "policy_version": row.policy_version,
            "method": row.method,
            "granted_at": iso(row.granted_at),
            "withdrawn_at": iso(row.withdrawn_at),
        }
        for row in await repository.consents_of(session, account_id)
    ]


# -- settings -------------------------------------------------------------------------

DIRECT_MESSAGES_FROM = ("everyone", "followers", "nobody")


async def privacy_settings(uow: UnitOfWork, account_id: int) -> entities.PrivacySettings:
    user = await accounts.user_for_account(uow.session, account_id)
    if user is None:
        raise NotFound()
    return {"direct_messages_from": user.direct_messages_from}


async def update_privacy_settings(
    uow: UnitOfWork, account_id: int, direct_messages_from: str | None
) -> entities.PrivacySettings:
    """Who may send the account direct messages: everyone, its followers, or nobody (a
    refused direct status answers 422 naming the recipient; statuses/service.py)."""
    user = await accounts.user_for_account(uow.session, account_id)
    if user is None:
        raise NotFound()
    if direct_messages_from is not None:
        if direct_messages_from not in DIRECT_MESSAGES_FROM:
            raise ValidationFailed(
                "direct_messages_from", f"must be one of {', '.join(DIRECT_MESSAGES_FROM)}"
            )
        user.direct_messages_from = direct_messages_from
        await uow.session.flush()
    return {"direct_messages_from": user.direct_messages_from}


async def deletion_of(session: AsyncSession, account_id: int) -> AccountDeletion | None:
    """The account's deletion request, if it asked (or was asked) to be deleted."""
    return await repository.deletion_of(session, account_id)


async def delete_for_moderator(
    uow: UnitOfWork, account_id: int, moderator_account_id: int
) -> AccountDeletion:
    """A moderator's deletion of an account (a rejected sign-up): the same erasure as
    self-service deletion (privacy/deletion.py), recorded as asked by them."""
    return await deletion.request_deletion(
        uow,
        account_id,
        requested_by=deletion.ADMIN,
        requested_by_account_id=moderator_account_id,
    )
