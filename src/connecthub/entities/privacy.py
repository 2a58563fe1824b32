"""The privacy domain's entities: Mastodon's PrivacyPolicy and TermsOfService (4.0 / 4.4),
and ConnectHub's own: legal documents as admins edit them, terms acceptance, consents."""

from __future__ import annotations

from typing_extensions import TypedDict


class PrivacyPolicy(TypedDict):
    updated_at: str
    content: str


class TermsOfService(TypedDict):
    effective_date: str
    effective: bool
    content: str
    succeeded_by: str | None


class LegalDocument(TypedDict):
    """A version of the privacy policy or the terms of service (admin extension)."""

    id: str
    kind: str
    effective_date: str
    published_at: str | None
    text: str
    changelog: str
    content: str
    created_at: str
    updated_at: str


class TermsAcceptance(TypedDict):
    """Whether the caller has accepted the terms in effect (ConnectHub extension)."""

    acceptance_required: bool
    current_version: str
    accepted_version: str | None
    accepted_at: str | None


class ConsentState(TypedDict):
    """One optional purpose and whether the caller agrees to it now."""

    purpose: str
    granted: bool
    updated_at: str | None


class ConsentRecord(TypedDict):
    """One line of the consent history: what was agreed, which version, how, until when."""

    purpose: str
    policy_version: str
    method: str
    granted_at: str
    withdrawn_at: str | None


class PrivacySettings(TypedDict):
    """Privacy settings beyond Mastodon's (ConnectHub extension)."""

    direct_messages_from: str
