"""Requests of the reports domain as the service takes them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    """Mastodon's report categories."""

    SPAM = "spam"
    LEGAL = "legal"
    VIOLATION = "violation"
    OTHER = "other"


COMMENT_LIMIT = 1000  # Mastodon's limit for a local report's comment
NOTE_LIMIT = 500  # Mastodon's limit for a report note


@dataclass(frozen=True)
class ReportDraft:
    """`POST /api/v1/reports` as read from the request."""

    account_id: int
    status_ids: list[int]
    comment: str = ""
    forward: bool = False
    category: str | None = None
    rule_ids: list[int] | None = None


@dataclass(frozen=True)
class ReportFilter:
    """The admin list's filters: unresolved unless `resolved`."""

    resolved: bool = False
    account_id: int | None = None
    target_account_id: int | None = None


@dataclass(frozen=True)
class ReportChange:
    """`PUT /api/v1/admin/reports/:id`: what the moderator sent (None: left as it is)."""

    category: str | None = None
    rule_ids: list[int] | None = None
