"""Report rules: filing a report (a person's, or the system's), the evidence kept with it,
and the moderation queue (assign, resolve, reopen, recategorise, notes, actions on a
reported status).

- A person reports an account and, optionally, statuses of that account they may read
  (THE visibility rule, statuses/access.py): any other status answers 404, as Mastodon.
- Each reported status is kept as it was (the Status entity every reader saw, its text,
  spoiler, visibility, media descriptions and keys); its media objects are held in the
  store while the report is open (media/service `hold_keys`, ADR 0026).
- The system (the classifier) files with no reporter: `file_system_report`.
- Moderators are the roles with Manage Reports; every act is audited once, in the
  function that does it (`_audit`), after commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from connecthub import entities
from connecthub.accounts import service as accounts_service
from connecthub.accounts.models import Account
from connecthub.accounts.roles import ROLES, Permission, has_permission
from connecthub.admin import service as admin_service
from connecthub.admin.schemas import Moderator
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.core.pagination import Page
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.ids import MAX_ID, new_id
from connecthub.infra.uow import UnitOfWork
from connecthub.instance import service as instance_service
from connecthub.media import service as media_service
from connecthub.media.models import MediaAttachment
from connecthub.notifications import service as notifications
from connecthub.notifications.service import NotificationType
from connecthub.ops import audit
from connecthub.reports import repository
from connecthub.reports.models import Report, ReportedStatus, ReportNote
from connecthub.reports.schemas import (
    COMMENT_LIMIT,
    NOTE_LIMIT,
    STATUS_LIMIT,
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
    if len(wanted) > STATUS_LIMIT:
        raise ValidationFailed("status_ids", f"names more than {STATUS_LIMIT} statuses")
    found = await statuses_service.readable_statuses(uow, viewer_id, wanted)
    if len(found) != len(wanted) or any(s.account_id != target_id for s in found):
        raise NotFound()
    return found


@dataclass(frozen=True)
class _Evidence:
    """A reported status as every reader saw it when reported: its Status entity (rendered
    with no viewer, so no one's flags) and its media rows."""

    status: Status
    entity: entities.Status
    media: list[MediaAttachment]


async def _evidence(uow: UnitOfWork, statuses: Sequence[Status]) -> list[_Evidence]:
    """Rendered before the report is written: a session without uncommitted changes reads
    the statuses' cached renderings."""
    if not statuses:
        return []
    session = uow.session
    rendered = await status_entities(session, statuses, None, uow.engines.settings)
    media = await media_service.attachments_of_statuses(session, [s.id for s in statuses])
    return [
        _Evidence(status, entity, media.get(status.id, []))
        for status, entity in zip(statuses, rendered, strict=True)
    ]


async def _keep_evidence(uow: UnitOfWork, report: Report, evidence: list[_Evidence]) -> None:
    """The evidence rows, with each attachment's description and stored keys; the keys are
    held in the store while the report is open (ADR 0026)."""
    for position, kept in enumerate(evidence):
        status = kept.status
        uow.session.add(
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
                    for row in kept.media
                ],
                entity=dict(kept.entity),
            )
        )
    held = [key for kept in evidence for row in kept.media for key in row.stored_keys()]
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
    evidence = await _evidence(uow, statuses)
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
    await _keep_evidence(uow, report, evidence)
    await _tell_moderators(uow, report)
    return report


async def file_report(
    uow: UnitOfWork, reporter_id: int, draft: ReportDraft
) -> tuple[Report, Account, str | None]:
    """`POST /api/v1/reports`: the report, its target and the target's role."""
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
    report = await _file(
        uow,
        reporter_id=reporter_id,
        target_id=target.id,
        statuses=statuses,
        category=category,
        comment=comment,
        rule_ids=rule_ids,
    )
    return report, target, await accounts_service.role_of_account(uow.session, target.id)


async def file_system_report(
    uow: UnitOfWork,
    *,
    target_account_id: int,
    status_ids: list[int],
    category: str,
    comment: str,
) -> int:
    """A report filed by the server itself (the offensive-language classifier): no reporter
    account; the Admin::Report shows the instance as its reporter (ADR 0035). The
    statuses must be the target's and still exist (any visibility: the system reads
    everything); `category` is one of spam, legal, violation, other, and a violation
    names no rule here (a moderator may add them with `PUT`); at most 100 statuses.
    Returns the report's id. Raises NotFound for an unknown account or status (a suspended
    account's statuses count as unknown: nobody may read them), ValidationFailed for bad
    input."""
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


async def _tell_moderators(uow: UnitOfWork, report: Report) -> None:
    """`admin.report` to every account whose role has Manage Reports. Its `account` is the
    reporter, as Mastodon's; a system report has none, so it names the target (ADR 0035)."""
    roles = [r.value for r in ROLES if has_permission(r.value, Permission.MANAGE_REPORTS)]
    recipients = await repository.account_ids_with_roles(uow.session, roles)
    await notifications.notify_moderation(
        uow,
        recipient_ids=[r for r in recipients if r != report.account_id],
        from_account_id=report.account_id or report.target_account_id,
        type=NotificationType.ADMIN_REPORT,
        report_id=report.id,
    )


async def _tell_reporter(uow: UnitOfWork, report: Report) -> None:
    """`report_resolved` to a person who reported: from themselves, so it names nobody
    they had not named (no moderator, no action), and no block or suspension hides it."""
    if report.account_id is None:
        return
    await notifications.notify_moderation(
        uow,
        recipient_ids=[report.account_id],
        from_account_id=report.account_id,
        type=NotificationType.REPORT_RESOLVED,
        report_id=report.id,
    )


async def erase_reports_of(uow: UnitOfWork, account_id: int, limit: int) -> int:
    """Account erasure (privacy/erasure.py): up to `limit` reports the account filed or
    that are about it go, with their evidence and notes, and the media they held are let
    go. Returns how many went (ADR 0026)."""
    ids = await repository.ids_naming(uow.session, account_id, limit)
    if ids:
        await media_service.release_keys(uow, *(_holder(report_id) for report_id in ids))
        await repository.delete_reports(uow.session, ids)
    return len(ids)


# --- the moderation queue -------------------------------------------------------------------


def _audit(
    uow: UnitOfWork, moderator: Moderator, report: Report, action: str, **details: object
) -> None:
    """Records a moderator's act on a report, in the act's transaction (the unit of work
    writes the audit row with it): THE one audit call of every report action (who, what,
    which report and whose, before/after)."""
    del uow  # the request's unit of work collects the entry (ops/audit.py)
    audit.record(
        AUDIT_EVENT,
        actor=audit.account_actor(moderator.account_id),
        action=action,
        outcome=audit.Outcome.DONE,
        actor_account_id=moderator.account_id,
        actor_role=moderator.role or "user",
        report_id=report.id,
        target_account_id=report.target_account_id,
        **details,
    )


def audit_refusal(
    moderator: Moderator, action: str, report_id: int | None, refusal: Forbidden
) -> Forbidden:
    """Records a refused attempt at once (the refusal rolls the request back); returns it."""
    audit.record(
        AUDIT_EVENT,
        actor=audit.account_actor(moderator.account_id),
        action=action,
        outcome=audit.Outcome.REFUSED,
        actor_account_id=moderator.account_id,
        actor_role=moderator.role or "user",
        report_id=report_id,
        reason=refusal.message,
    )
    return refusal


def _require_manage_reports(moderator: Moderator, action: str, report_id: int | None) -> None:
    if not has_permission(moderator.role, Permission.MANAGE_REPORTS):
        raise audit_refusal(moderator, action, report_id, Forbidden(NOT_ALLOWED))


async def _report(uow: UnitOfWork, report_id: int, *, for_update: bool = False) -> Report:
    report = None
    if 0 < report_id <= MAX_ID:
        report = await repository.by_id(uow.session, report_id, for_update=for_update)
    if report is None:
        raise NotFound()
    return report


async def _views(uow: UnitOfWork, reports: list[Report]) -> list[ReportView]:
    """Reports with their evidence and every account they name, in a fixed number of
    queries whatever the page size."""
    session = uow.session
    evidence = await repository.evidence(session, [r.id for r in reports])
    named = [
        account_id
        for r in reports
        for account_id in (
            r.account_id,
            r.target_account_id,
            r.assigned_account_id,
            r.action_taken_by_account_id,
        )
        if account_id is not None
    ]
    accounts = await admin_service.admin_accounts(session, named)
    return [ReportView(r, evidence[r.id], accounts) for r in reports]


async def _view(uow: UnitOfWork, report: Report) -> ReportView:
    return (await _views(uow, [report]))[0]


async def list_reports(
    uow: UnitOfWork, moderator: Moderator, filters: ReportFilter, page: Page
) -> list[ReportView]:
    _require_manage_reports(moderator, "list", None)
    return await _views(uow, await repository.page(uow.session, filters, page))


async def show(uow: UnitOfWork, moderator: Moderator, report_id: int) -> ReportView:
    _require_manage_reports(moderator, "show", report_id)
    return await _view(uow, await _report(uow, report_id))


async def _changing(uow: UnitOfWork, moderator: Moderator, report_id: int, action: str) -> Report:
    """The report a moderator changes, locked for the change; 403 (audited) when they may
    not, 404 when there is no such report."""
    _require_manage_reports(moderator, action, report_id)
    return await _report(uow, report_id, for_update=True)


def _touch(report: Report) -> None:
    report.updated_at = utcnow()


async def update(
    uow: UnitOfWork, moderator: Moderator, report_id: int, change: ReportChange
) -> ReportView:
    """`PUT`: recategorise; a violation names at least one existing rule, other categories
    none (their rule ids are dropped); rules sent without a category make a violation."""
    report = await _changing(uow, moderator, report_id, "update")
    before = {"category": report.category, "rule_ids": list(report.rule_ids)}
    category = report.category
    if change.category is not None:
        category = _category(change.category, None)
    elif change.rule_ids:
        category = Category.VIOLATION.value  # naming rules makes it one, as when filing
    wanted = change.rule_ids if change.rule_ids is not None else report.rule_ids
    rule_ids = _rule_ids(uow.engines.settings, category, wanted)
    report.category, report.rule_ids = category, rule_ids
    _touch(report)
    after = {"category": category, "rule_ids": rule_ids}
    _audit(uow, moderator, report, "update", before=before, after=after)
    return await _view(uow, report)


async def assign_to_self(uow: UnitOfWork, moderator: Moderator, report_id: int) -> ReportView:
    report = await _changing(uow, moderator, report_id, "assign_to_self")
    before = report.assigned_account_id
    report.assigned_account_id = moderator.account_id
    _touch(report)
    _audit(uow, moderator, report, "assign_to_self", before=before, after=moderator.account_id)
    return await _view(uow, report)


async def unassign(uow: UnitOfWork, moderator: Moderator, report_id: int) -> ReportView:
    report = await _changing(uow, moderator, report_id, "unassign")
    before = report.assigned_account_id
    report.assigned_account_id = None
    _touch(report)
    _audit(uow, moderator, report, "unassign", before=before, after=None)
    return await _view(uow, report)


async def _resolve(uow: UnitOfWork, report: Report, moderator_account_id: int) -> bool:
    """Marks the report resolved by the moderator, releases its held media and tells its
    reporter; False (nothing done) when it was resolved already."""
    if report.action_taken_at is not None:
        return False
    report.action_taken_at = utcnow()
    report.action_taken_by_account_id = moderator_account_id
    _touch(report)
    await media_service.release_keys(uow, _holder(report.id))
    await _tell_reporter(uow, report)
    return True


async def resolve(uow: UnitOfWork, moderator: Moderator, report_id: int) -> ReportView:
    report = await _changing(uow, moderator, report_id, "resolve")
    if await _resolve(uow, report, moderator.account_id):
        _audit(uow, moderator, report, "resolve", before="open", after="resolved")
    return await _view(uow, report)


async def resolve_by_action(
    uow: UnitOfWork, report_id: int, moderator_account_id: int, action: str
) -> None:
    """For account actions that name a report (admin/, `report_id`): resolves the report as
    the action's moderator, in the action's transaction. The caller has checked the
    moderator's permission for its action; the audit line names the action that resolved
    it. 404 for an unknown report; a report resolved already stays as it is."""
    report = await _report(uow, report_id, for_update=True)
    role = await accounts_service.role_of_account(uow.session, moderator_account_id)
    moderator = Moderator(account_id=moderator_account_id, role=role)
    if await _resolve(uow, report, moderator_account_id):
        _audit(uow, moderator, report, "resolve", before="open", after="resolved", by=action)


async def reopen(uow: UnitOfWork, moderator: Moderator, report_id: int) -> ReportView:
    """Open again: its evidence media are held again (those not purged meanwhile)."""
    report = await _changing(uow, moderator, report_id, "reopen")
    if report.action_taken_at is not None:
        report.action_taken_at = None
        report.action_taken_by_account_id = None
        _touch(report)
        evidence = (await repository.evidence(uow.session, [report.id]))[report.id]
        keys = [key for row in evidence for media in row.media for key in media["keys"]]
        await media_service.hold_keys(uow, _holder(report.id), keys)
        _audit(uow, moderator, report, "reopen", before="resolved", after="open")
    return await _view(uow, report)


# --- notes ----------------------------------------------------------------------------------


async def notes(
    uow: UnitOfWork, moderator: Moderator, report_id: int
) -> list[tuple[ReportNote, Account | None]]:
    _require_manage_reports(moderator, "notes", report_id)
    await _report(uow, report_id)
    found = await repository.notes(uow.session, report_id)
    authors = await _note_authors(uow, found)
    return [(note, authors.get(note.account_id or 0)) for note in found]


async def _note_authors(uow: UnitOfWork, found: Sequence[ReportNote]) -> dict[int, Account]:
    ids = sorted({note.account_id for note in found if note.account_id is not None})
    accounts = await admin_service.admin_accounts(uow.session, ids)
    return {account_id: view.account for account_id, view in accounts.items()}


async def add_note(
    uow: UnitOfWork, moderator: Moderator, report_id: int, content: str
) -> tuple[ReportNote, Account | None]:
    report = await _changing(uow, moderator, report_id, "add_note")
    text = content.strip()
    if not text:
        raise ValidationFailed("content", "can't be blank")
    if len(text) > NOTE_LIMIT:
        raise ValidationFailed("content", f"is too long (at most {NOTE_LIMIT} characters)")
    note = ReportNote(
        id=new_id(),
        report_id=report.id,
        account_id=moderator.account_id,
        content=text,
        created_at=utcnow(),
    )
    uow.session.add(note)
    _touch(report)
    await uow.session.flush()
    _audit(uow, moderator, report, "add_note", note_id=note.id, note_length=len(text))
    return note, (await _note_authors(uow, [note])).get(moderator.account_id)


async def delete_note(uow: UnitOfWork, moderator: Moderator, report_id: int, note_id: int) -> None:
    """A moderator deletes their own note; an admin any note (as Mastodon's policy)."""
    report = await _changing(uow, moderator, report_id, "delete_note")
    note = await repository.note(uow.session, report.id, note_id) if note_id <= MAX_ID else None
    if note is None:
        raise NotFound()
    mine = note.account_id == moderator.account_id
    if not mine and not has_permission(moderator.role, Permission.ADMINISTRATOR):
        raise audit_refusal(moderator, "delete_note", report.id, Forbidden(NOT_ALLOWED))
    await uow.session.delete(note)
    _audit(uow, moderator, report, "delete_note", note_id=note.id, before=note.content)


# --- actions on a reported status -----------------------------------------------------------


class StatusAction(StrEnum):
    DELETE = "delete"
    SENSITIVE = "sensitive"


async def act_on_status(
    uow: UnitOfWork, moderator: Moderator, report_id: int, status_id: int, action: StatusAction
) -> ReportView:
    """Delete a reported status (through statuses' one deletion path) or mark it sensitive.
    Only a status this report names; 404 when it is gone already. The evidence stays."""
    report = await _changing(uow, moderator, report_id, f"status_{action.value}")
    if status_id not in report.status_ids:
        raise NotFound()
    status = await statuses_service.readable_status(
        uow.session, report.target_account_id, status_id
    )
    if status is None or status.account_id != report.target_account_id:
        raise NotFound()
    if action is StatusAction.DELETE:
        await statuses_service.delete_status(uow, uow.engines.settings, status)
        details: dict[str, object] = {"before": "present", "after": "deleted"}
    else:
        before = status.sensitive
        await statuses_service.mark_sensitive(uow, status)
        details = {"before": {"sensitive": before}, "after": {"sensitive": True}}
    _touch(report)
    _audit(uow, moderator, report, f"status_{action.value}", status_id=status_id, **details)
    return await _view(uow, report)
