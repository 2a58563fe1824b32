"""THE converters of the reports domain: Report (the reporter's answer), Admin::Report (the
moderation queue's), the report note extension, and the instance as the reporter of the
reports the system files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from connecthub import entities
from connecthub.accounts.models import Account, Role
from connecthub.accounts.roles import ROLES
from connecthub.accounts.serializers import (
    MISSING_AVATAR,
    MISSING_HEADER,
    account_entity,
    admin_account_entity,
    role_entity,
)
from connecthub.config import Settings
from connecthub.core.datetimes import iso
from connecthub.instance.service import rules as instance_rules
from connecthub.reports.models import Report, ReportedStatus, ReportNote

# Mastodon's instance actor has this id; ConnectHub has no such row, only its picture here.
INSTANCE_ACCOUNT_ID = "-99"
_EPOCH = "1970-01-01T00:00:00.000Z"


def _ids(values: list[int]) -> list[str]:
    return [str(value) for value in values]


def report_entity(
    settings: Settings, report: Report, target: Account, target_role: str | None
) -> entities.Report:
    """What the reporter sees of their report: never the moderators' side of it."""
    return {
        "id": str(report.id),
        "action_taken": report.action_taken_at is not None,
        "action_taken_at": iso(report.action_taken_at),
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": iso(report.created_at),
        "status_ids": _ids(report.status_ids),
        "rule_ids": _ids(report.rule_ids),
        "target_account": account_entity(settings, target, target_role),
    }


def instance_admin_account(settings: Settings) -> entities.AdminAccount:
    """The instance itself as an Admin::Account: the reporter of a report the system filed
    (as Mastodon shows its instance actor: the domain as username, a bot)."""
    root = settings.base_url
    domain = settings.local_domain
    account: entities.Account = {
        "id": INSTANCE_ACCOUNT_ID,
        "username": domain,
        "acct": domain,
        "display_name": settings.instance_title,
        "locked": True,
        "bot": True,
        "discoverable": False,
        "indexable": False,
        "group": False,
        "created_at": _EPOCH,
        "note": "",
        "url": f"{root}/about",
        "uri": f"{root}/actor",
        "avatar": root + MISSING_AVATAR,
        "avatar_static": root + MISSING_AVATAR,
        "header": root + MISSING_HEADER,
        "header_static": root + MISSING_HEADER,
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": 0,
        "last_status_at": None,
        "hide_collections": True,
        "noindex": True,
        "emojis": [],
        "roles": [],
        "fields": [],
    }
    return {
        "id": INSTANCE_ACCOUNT_ID,
        "username": domain,
        "domain": None,
        "created_at": _EPOCH,
        "email": "",
        "ip": None,
        "ips": [],
        "locale": "",
        "invite_request": None,
        "role": role_entity(ROLES[Role.USER]),
        "confirmed": True,
        "approved": True,
        "disabled": False,
        "silenced": False,
        "sensitized": False,
        "suspended": False,
        "account": account,
    }


def admin_report_entity(
    settings: Settings,
    report: Report,
    evidence: list[ReportedStatus],
    accounts: Mapping[int, entities.AdminAccount],
) -> entities.AdminReport:
    """`accounts`: the Admin::Account of every account the report names, by id. Statuses
    are as they were when reported (the evidence kept), whether or not they still exist."""

    def maybe(account_id: int | None) -> entities.AdminAccount | None:
        return accounts.get(account_id) if account_id is not None else None

    reporter = maybe(report.account_id)
    rules = {rule.id: rule for rule in instance_rules(settings)}
    return {
        "id": str(report.id),
        "action_taken": report.action_taken_at is not None,
        "action_taken_at": iso(report.action_taken_at),
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": iso(report.created_at),
        "updated_at": iso(report.updated_at),
        "account": reporter if reporter is not None else instance_admin_account(settings),
        "target_account": accounts[report.target_account_id],
        "assigned_account": maybe(report.assigned_account_id),
        "action_taken_by_account": maybe(report.action_taken_by_account_id),
        "statuses": [cast(entities.Status, row.entity) for row in evidence],
        "rules": [
            {"id": rule.id, "text": rule.text, "hint": rule.hint}
            for rule in (rules.get(str(i)) for i in report.rule_ids)
            if rule is not None
        ],
    }


def note_entity(
    settings: Settings, note: ReportNote, author: entities.Account | None
) -> entities.ReportNote:
    return {
        "id": str(note.id),
        "content": note.content.strip(),
        "created_at": iso(note.created_at),
        "updated_at": iso(note.created_at),
        "target": {
            "type": "Report",
            "id": str(note.report_id),
            "url": f"{settings.base_url}/api/v1/admin/reports/{note.report_id}",
        },
        "account": author,
    }


__all__ = [
    "INSTANCE_ACCOUNT_ID",
    "admin_account_entity",
    "admin_report_entity",
    "instance_admin_account",
    "note_entity",
    "report_entity",
]
