"""Mastodon's Report (what the reporter gets back) and Admin::Report (the moderation
queue's view), the instance Rule a report names, and ConnectHub's report note extension."""

from __future__ import annotations

from typing_extensions import TypedDict

from connecthub.entities.accounts import Account, AdminAccount
from connecthub.entities.statuses import Status


class Rule(TypedDict):
    id: str
    text: str
    hint: str


class Report(TypedDict):
    id: str
    action_taken: bool
    action_taken_at: str | None
    category: str
    comment: str
    forwarded: bool
    created_at: str
    status_ids: list[str] | None
    rule_ids: list[str] | None
    target_account: Account


class AdminReport(TypedDict):
    """Mastodon's Admin::Report. `account` is the reporter; a report the system filed shows
    the instance's own account there (reports/serializers.py, ADR 0035)."""

    id: str
    action_taken: bool
    action_taken_at: str | None
    category: str
    comment: str
    forwarded: bool
    created_at: str
    updated_at: str
    account: AdminAccount
    target_account: AdminAccount
    assigned_account: AdminAccount | None
    action_taken_by_account: AdminAccount | None
    statuses: list[Status]
    rules: list[Rule]


class NoteTarget(TypedDict):
    type: str
    id: str
    url: str


class ReportNote(TypedDict):
    """ConnectHub extension, in the shape of Mastodon's moderation notes: a moderator's
    note on a report (`account`: its writer, null once their account is gone)."""

    id: str
    content: str
    created_at: str
    updated_at: str
    target: NoteTarget
    account: Account | None


class HeldStatus(TypedDict):
    """ConnectHub extension: a status held for review before it is published
    (docs/status-review.md). `reason`: `review` (STATUS_REVIEW), `scoring` (awaiting its
    automatic score) or `detection` (scored at or above DETECTION_HOLD_THRESHOLD)."""

    id: str
    reason: str
    created_at: str
    account: AdminAccount
    status: Status
