"""Mastodon's admin entities for the denylists (Admin::IpBlock, Admin::EmailDomainBlock,
Admin::CanonicalEmailBlock) and ConnectHub's audit log entry (an extension)."""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict


class AdminIpBlock(TypedDict):
    id: str
    ip: str
    severity: str
    comment: str
    created_at: str
    expires_at: str | None


class AdminEmailDomainBlockHistory(TypedDict):
    day: str
    accounts: str
    uses: str


class AdminEmailDomainBlock(TypedDict):
    id: str
    domain: str
    created_at: str
    history: list[AdminEmailDomainBlockHistory]


class AdminCanonicalEmailBlock(TypedDict):
    id: str
    canonical_email_hash: str


class AuditLogEntry(TypedDict):
    """ConnectHub's extension: one row of the audit trail (infra/audit_trail.py)."""

    id: str
    created_at: str
    event: str
    actor: str
    actor_account_id: str | None
    action: str
    outcome: str
    target_type: str | None
    target_id: str | None
    ip: str | None
    before: Any
    after: Any
    details: dict[str, Any]
    hash: str
