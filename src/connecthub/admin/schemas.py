"""Requests of the admin API, as the service takes them: the moderation action, the
account list's filters, and who is asking."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ActionType(StrEnum):
    """Mastodon's `POST /api/v1/admin/accounts/:id/action` types."""

    NONE = "none"
    SENSITIVE = "sensitive"
    DISABLE = "disable"
    SILENCE = "silence"
    SUSPEND = "suspend"


class AccountStatus(StrEnum):
    """The `status` filter of `GET /api/v2/admin/accounts`."""

    ACTIVE = "active"
    PENDING = "pending"
    DISABLED = "disabled"
    SILENCED = "silenced"
    SUSPENDED = "suspended"


@dataclass(frozen=True)
class Moderator:
    """The caller: their account and role (from the token)."""

    account_id: int
    role: str | None


@dataclass(frozen=True)
class AccountAction:
    type: ActionType
    text: str = ""
    # Mastodon's default: the account holder is told (notification and mail).
    send_email_notification: bool = True
    report_id: int | None = None
    warning_preset_id: int | None = None


@dataclass(frozen=True)
class AccountFilter:
    """Every filter is optional; `nothing` means a filter that no local account can match
    (a remote origin, another domain, an inviter: ConnectHub has no federation or invites)."""

    status: AccountStatus | None = None
    username: str | None = None
    display_name: str | None = None
    email: str | None = None
    ip: str | None = None
    staff: bool = False
    roles: frozenset[str] = field(default_factory=frozenset)
    nothing: bool = False
