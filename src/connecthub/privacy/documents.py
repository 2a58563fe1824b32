"""The privacy policy and the terms of service as versioned documents.

Each version is Markdown with an effective date, which names it (as Mastodon names terms
of service) and is what a consent record keeps as `policy_version`. Admins write drafts,
change them, and publish them (API or `connecthub admin documents`); a published version
is never rewritten. The version in effect is the newest published one whose effective
date has come; before any has, the newest published one is shown (Mastodon's rule) and
consent is recorded against `TERMS_VERSION` (settings), the version a server without
documents has always used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub import entities
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.core.html import markdown_to_html
from connecthub.errors import NotFound, ValidationFailed
from connecthub.infra.uow import UnitOfWork
from connecthub.ops import audit
from connecthub.privacy import repository
from connecthub.privacy.models import LegalDocument

PRIVACY_POLICY = "privacy_policy"
TERMS_OF_SERVICE = "terms_of_service"
KINDS = (PRIVACY_POLICY, TERMS_OF_SERVICE)
# Documents may name the server: Mastodon's placeholder, replaced when rendered.
_DOMAIN = "%{domain}"


def today() -> date:
    return utcnow().date()


@dataclass
class Draft:
    """What an admin sends; None: not sent (a change keeps the value)."""

    text: str | None = None
    effective_date: date | None = None
    changelog: str | None = None


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationFailed("kind", f"must be one of {', '.join(KINDS)}")
    return kind


def _check_text(text: str | None) -> str:
    if text is None or not text.strip():
        raise ValidationFailed("text", "is required")
    return text


async def _check_free(uow: UnitOfWork, kind: str, effective: date, own_id: int | None) -> None:
    """One version per kind and effective date (the unique key backs this up)."""
    existing = await repository.document_on(uow.session, kind, effective)
    if existing is not None and existing.id != own_id:
        raise ValidationFailed("effective_date", f"{effective.isoformat()} already has a version")


async def create(uow: UnitOfWork, kind: str, draft: Draft) -> LegalDocument:
    check_kind(kind)
    if draft.effective_date is None:
        raise ValidationFailed("effective_date", "is required")
    await _check_free(uow, kind, draft.effective_date, None)
    row = LegalDocument(
        kind=kind,
        text=_check_text(draft.text),
        changelog=draft.changelog or "",
        effective_date=draft.effective_date,
        published_at=None,
    )
    uow.session.add(row)
    await uow.session.flush()
    return row


async def access_document(
    session: AsyncSession, document_id: int, *, for_update: bool = False
) -> LegalDocument:
    row = await repository.document(session, document_id, for_update=for_update)
    if row is None:
        raise NotFound()
    return row


def _draft_only(row: LegalDocument) -> None:
    if row.published_at is not None:
        raise ValidationFailed(
            "published_at", "a published version is never changed: write a new version"
        )


async def update(uow: UnitOfWork, document_id: int, draft: Draft) -> LegalDocument:
    row = await access_document(uow.session, document_id, for_update=True)
    _draft_only(row)
    if draft.text is not None:
        row.text = _check_text(draft.text)
    if draft.changelog is not None:
        row.changelog = draft.changelog
    if draft.effective_date is not None:
        await _check_free(uow, row.kind, draft.effective_date, row.id)
        row.effective_date = draft.effective_date
    await uow.session.flush()
    return row


async def publish(uow: UnitOfWork, document_id: int, actor: int | None) -> LegalDocument:
    """Publish a draft. A version effective today or earlier applies at once: everyone who
    accepted an older version of the terms is asked to accept this one. `actor`: the admin's
    account, None for the command line (the audit line's actor)."""
    row = await access_document(uow.session, document_id, for_update=True)
    _draft_only(row)
    row.published_at = utcnow()
    await uow.session.flush()
    audit.record(
        "privacy.legal_document",
        actor=audit.account_actor(actor) if actor is not None else audit.CLI_ACTOR,
        action="publish",
        outcome=audit.Outcome.DONE,
        kind=row.kind,
        effective_date=row.effective_date.isoformat(),
    )
    return row


async def delete(uow: UnitOfWork, document_id: int) -> None:
    row = await access_document(uow.session, document_id, for_update=True)
    _draft_only(row)
    await uow.session.delete(row)


async def every_document(session: AsyncSession, kind: str | None = None) -> list[LegalDocument]:
    return await repository.documents(session, check_kind(kind) if kind else None)


def _in_effect(versions: list[LegalDocument], on: date) -> LegalDocument | None:
    """Of published versions (newest first), the one in effect on `on`."""
    return next((row for row in versions if row.effective_date <= on), None)


async def shown(session: AsyncSession, kind: str) -> tuple[LegalDocument, list[LegalDocument]]:
    """The version to show for `kind` (in effect, else the newest published: Mastodon's
    rule for terms announced before they apply) and every published version."""
    versions = await repository.published(session, kind)
    current = _in_effect(versions, today()) or (versions[0] if versions else None)
    if current is None:
        raise NotFound()
    return current, versions


async def terms_on(
    session: AsyncSession, effective: date
) -> tuple[LegalDocument, list[LegalDocument]]:
    versions = await repository.published(session, TERMS_OF_SERVICE)
    for row in versions:
        if row.effective_date == effective:
            return row, versions
    raise NotFound()


async def in_effect(session: AsyncSession, kind: str) -> LegalDocument | None:
    """The published version of `kind` in effect today, if any."""
    return _in_effect(await repository.published(session, kind), today())


async def every_in_effect(session: AsyncSession) -> dict[str, LegalDocument]:
    """The version of each kind in effect today (kinds with none left out), in one query."""
    versions = await repository.every_published(session)
    found = {kind: _in_effect([v for v in versions if v.kind == kind], today()) for kind in KINDS}
    return {kind: row for kind, row in found.items() if row is not None}


def version_of(settings: Settings, row: LegalDocument | None) -> str:
    """A version's name: its effective date; TERMS_VERSION when no version is in effect."""
    return row.effective_date.isoformat() if row else settings.terms_version


async def current_version(session: AsyncSession, settings: Settings, kind: str) -> str:
    """The version people agree to now."""
    return version_of(settings, await in_effect(session, kind))


# -- converters ------------------------------------------------------------------------


def render(settings: Settings, row: LegalDocument) -> str:
    return markdown_to_html(row.text.replace(_DOMAIN, settings.local_domain))


def privacy_policy_entity(settings: Settings, row: LegalDocument) -> entities.PrivacyPolicy:
    return {"updated_at": iso(row.published_at or row.updated_at), "content": render(settings, row)}


def terms_entity(
    settings: Settings, row: LegalDocument, versions: list[LegalDocument]
) -> entities.TermsOfService:
    later = [v.effective_date for v in versions if v.effective_date > row.effective_date]
    return {
        "effective_date": row.effective_date.isoformat(),
        "effective": row.effective_date <= today(),
        "content": render(settings, row),
        "succeeded_by": min(later).isoformat() if later else None,
    }


def document_entity(settings: Settings, row: LegalDocument) -> entities.LegalDocument:
    return {
        "id": str(row.id),
        "kind": row.kind,
        "effective_date": row.effective_date.isoformat(),
        "published_at": iso(row.published_at),
        "text": row.text,
        "changelog": row.changelog,
        "content": render(settings, row),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }
