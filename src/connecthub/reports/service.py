"""Report rules: filing a report (a person's, or the system's), the evidence kept with it,
and the moderation queue (assign, resolve, reopen, recategorise, notes, actions on a
reported status).

- A person reports an account and, optionally, statuses of that account they may read
  (THE visibility rule, statuses/access.py): any other status answers 404, as Mastodon.
- Each reported status is kept as it was (the Status entity every reader saw, its text,
  spoiler, visibility, media descriptions and keys); its media objects are held in the
  store while the report is open (media/service `hold_keys`, ADR 0026-a).
- The system (the classifier) files with no reporter: `file_system_report`.
- Moderators are the roles with Manage Reports; every act is audited once, in the
  function that does it (`_audit`), after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from connecthub.accounts import service as accounts_service
from connecthub.accounts.roles import Permission, has_permission
from connecthub.admin import service as admin_service
from connecthub.admin.schemas import Moderator
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.core.pagination import Page
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.ids import new_id
from connecthub.infra.uow import UnitOfWork
from connecthub.instance import service as instance_service
from connecthub.media import service as media_service
from connecthub.ops import audit
from connecthub.reports import repository
from connecthub.reports.models import Report, ReportedStatus, ReportNote
from connecthub.reports.schemas import (
    COMMENT_LIMIT,
    NOTE_LIMIT,
    Category,
    ReportChange,
    ReportDraft,
    ReportFilter,
)
from connecthub.statuses import service as statuses_service
from connecthub.statuses.models import Status
from connecthub.statuses.serializers import status_entities

AUDIT_EVENT = "admin.report_action"
NOT_ALLOWED = "This action is not allowed"
_MAX_ID = 2**63 - 1
CATEGORIES = frozenset(c.value for c in Category)


@dataclass(frozen=True)
class ReportView:
    """What the Admin::Report entity is made from."""

    report: Report
    evidence: list[ReportedStatus]
    accounts: dict[int, admin_service.AdminAccount]


def _holder(report_id: int) -> str:
    return f"report:{report_id}"


# --- filing ---------------------------------------------------------------------------------


def _rule_ids(settings: Settings, category: str, rule_ids: list[int] | None) -> list[int]:
    """The rules a report names: only a `violation` names rules, and it must name at least
    one of this server's (instance/ serves them as `/api/v1/instance/rules`)."""
    if category != Category.VIOLATION:
        return []
    known = {int(rule.id) for rule in instance_service.rules(settings)}
    wanted = list(dict.fromkeys(rule_ids or []))
    if not wanted:
        raise ValidationFailed("rule_ids", "must name at least one rule for a violation")
    unknown = [rule_id for rule_id in wanted if rule_id not in known]
    if unknown:
        raise ValidationFailed("rule_ids", f"names no rule of this server: {unknown[0]}")
    return wanted


def _category(category: str | None, rule_ids: list[int] | None) -> str:
    """Mastodon's default: a report naming rules is a violation, otherwise `other`."""
    chosen = (category or "").strip().lower()
    if not chosen:
        return Category.VIOLATION.value if rule_ids else Category.OTHER.value
    if chosen not in CATEGORIES:
        raise ValidationFailed("category", f"must be one of {', '.join(sorted(CATEGORIES))}")
    return chosen


def _check_comment(comment: str) -> str:
    if len(comment) > COMMENT_LIMIT:
        raise ValidationFailed("comment", f"is too long (at most {COMMENT_LIMIT} characters)")
    return comment


async def _reported_statuses(
    uow: UnitOfWork, viewer_id: int, target_id: int, status_ids: list[int]
) -> list[Status]:
    """The statuses named, if each is the target's and `viewer_id` may read it; else 404."""
    wanted = list(dict.fromkeys(status_ids))
    found = await statuses_service.readable_statuses(uow, viewer_id, wanted)
    if len(found) != len(wanted) or any(s.account_id != target_id for s in found):
        raise NotFound()
    return found


async def _keep_evidence(uow: UnitOfWork, report: Report, statuses: Sequence[Status]) -> None:
    """Each reported status as every reader saw it then (rendered with no viewer), with
    its media's descriptions and stored keys; the keys are held while the report is open."""
    if not statuses:
        return
    session = uow.session
    settings = uow.engines.settings
    rendered = await status_entities(session, statuses, None, settings)
    media = await media_service.attachments_of_statuses(session, [s.id for s in statuses])
    held: list[str] = []
    for position, (status, entity) in enumerate(zip(statuses, rendered, strict=True)):
        attachments = media.get(status.id, [])
        held += [key for row in attachments for key in row.stored_keys()]
        session.add(
            ReportedStatus(
                id=new_id(),
                report_id=report.id,
                position=position,
                status_id=status.id,
                text=status.text,
                spoiler_text=status.spoiler_text,
                visibility=status.visibility,
                status_created_at=status.created_at,
                media=[
                    {"id": str(row.id), "description": row.description, "keys": row.stored_keys()}
                    for row in attachments
                ],
                entity=dict(entity),
            )
        )
    await media_service.hold_keys(uow, _holder(report.id), held)


async def _file(
    uow: UnitOfWork,
    *,
    reporter_id: int | None,
    target_id: int,
    statuses: Sequence[Status],
    category: str,
    comment: str,
    rule_ids: list[int],
) -> Report:
    now = utcnow()
    report = Report(
        id=new_id(),
        account_id=reporter_id,
        system=reporter_id is None,
        target_account_id=target_id,
        category=category,
        comment=comment,
        # ConnectHub has no federation: a report is never forwarded anywhere.
        forwarded=False,
        status_ids=[s.id for s in statuses],
        rule_ids=rule_ids,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(report)
    await uow.session.flush()
    await _keep_evidence(uow, report, statuses)
    return report


async def file_report(uow: UnitOfWork, reporter_id: int, draft: ReportDraft) -> Report:
    """`POST /api/v1/reports`."""
    settings = uow.engines.settings
    target = await accounts_service.visible_account(uow.session, draft.account_id)
    if target is None:
        raise NotFound()
    if target.id == reporter_id:
        raise ValidationFailed("account_id", "you cannot report your own account")
    category = _category(draft.category, draft.rule_ids)
    rule_ids = _rule_ids(settings, category, draft.rule_ids)
    comment = _check_comment(draft.comment)
    statuses = await _reported_statuses(uow, reporter_id, target.id, draft.status_ids)
    return await _file(
        uow,
        reporter_id=reporter_id,
        target_id=target.id,
        statuses=statuses,
        category=category,
        comment=comment,
        rule_ids=rule_ids,
    )


async def file_system_report(
    uow: UnitOfWork,
    *,
    target_account_id: int,
    status_ids: list[int],
    category: str,
    comment: str,
) -> int:
    """A report filed by the server itself (the offensive-language classifier): no reporter
    account; the Admin::Report shows the instance as its reporter (ADR 0026-a). The
    statuses must be the target's and still exist (any visibility: the system reads
    everything); `category` is one of spam, legal, violation, other, and a violation
    names no rule here (a moderator may add them with `PUT`). Returns the report's id.
    Raises NotFound for an unknown account or status, ValidationFailed for bad input."""
    target = await accounts_service.account_by_id(uow.session, target_account_id)
    if target is None:
        raise NotFound()
    chosen = category.strip().lower()
    if chosen not in CATEGORIES:
        raise ValidationFailed("category", f"must be one of {', '.join(sorted(CATEGORIES))}")
    # The author may read each of their own statuses: the system sees every visibility.
    statuses = await _reported_statuses(uow, target.id, target.id, status_ids)
    report = await _file(
        uow,
        reporter_id=None,
        target_id=target.id,
        statuses=statuses,
        category=chosen,
        comment=_check_comment(comment),
        rule_ids=[],
    )
    return report.id
