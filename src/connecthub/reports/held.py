"""Statuses held for review before they are published (docs/status-review.md): the
moderators' side. A held status is stored, readable by its author alone (THE visibility
rule, statuses/access.py), and not fanned out; a moderator with Manage Reports lists them,
approves one (published then, as a new post is: statuses.service.publish_held) or rejects
one (deleted through statuses' one deletion path, and a `delete_statuses` strike the
author is told of with a `moderation_warning` notification, as Mastodon tells of a
moderator's deletion). Every decision and refusal goes to the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from connecthub import entities
from connecthub.accounts.roles import Permission, has_permission
from connecthub.accounts.serializers import admin_account_entity
from connecthub.admin import service as admin_service
from connecthub.admin.schemas import Moderator
from connecthub.core.datetimes import iso
from connecthub.core.pagination import Page
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.infra.uow import UnitOfWork
from connecthub.ops import audit
from connecthub.statuses import service as statuses_service
from connecthub.statuses.models import HeldReason, Status
from connecthub.statuses.serializers import status_entities
from connecthub.strikes import service as strikes_service

AUDIT_EVENT = "admin.held_status"
NOT_ALLOWED = "This action is not allowed"
MAX_TEXT_LENGTH = 5000


@dataclass(frozen=True)
class Rejection:
    """What a moderator's rejection says: the strike's text, and whether the author is
    told (Mastodon's `send_email_notification`, default true)."""

    text: str = ""
    notify: bool = True


def _record(
    moderator: Moderator,
    action: str,
    outcome: audit.Outcome,
    status_id: int | None,
    **details: object,
) -> None:
    audit.record(
        AUDIT_EVENT,
        actor=audit.account_actor(moderator.account_id),
        action=action,
        outcome=outcome,
        actor_account_id=moderator.account_id,
        actor_role=moderator.role or "user",
        status_id=status_id,
        **details,
    )


def audit_refusal(
    moderator: Moderator, action: str, status_id: int | None, refusal: Forbidden
) -> Forbidden:
    """Records a refused attempt at once (the refusal rolls the request back); returns it."""
    _record(moderator, action, audit.Outcome.REFUSED, status_id, reason=refusal.message)
    return refusal


def _require(moderator: Moderator, action: str, status_id: int | None) -> None:
    if not has_permission(moderator.role, Permission.MANAGE_REPORTS):
        raise audit_refusal(moderator, action, status_id, Forbidden(NOT_ALLOWED))


async def _entities(uow: UnitOfWork, statuses: list[Status]) -> list[entities.HeldStatus]:
    """The held statuses with their authors, in a fixed number of queries. Rendered as
    an anonymous reader would see them once published (the viewer's flags mean nothing
    here)."""
    session, settings = uow.session, uow.engines.settings
    rendered = await status_entities(session, statuses, None, settings)
    authors = await admin_service.admin_accounts(session, [s.account_id for s in statuses])
    found = []
    for status, entity in zip(statuses, rendered, strict=True):
        author = authors[status.account_id]
        found.append(
            entities.HeldStatus(
                id=str(status.id),
                reason=status.held_reason or "",
                created_at=iso(status.created_at),
                account=admin_account_entity(settings, author.account, author.user, author.ips),
                status=entity,
            )
        )
    return found


async def list_held(
    uow: UnitOfWork, moderator: Moderator, account_id: int | None, page: Page
) -> list[entities.HeldStatus]:
    _require(moderator, "list", None)
    return await _entities(uow, await statuses_service.held_statuses(uow, account_id, page))


async def _held(uow: UnitOfWork, moderator: Moderator, status_id: int, action: str) -> Status:
    _require(moderator, action, status_id)
    status = await statuses_service.held_status(uow, status_id)
    if status is None:
        raise NotFound()
    if status.account_id == moderator.account_id:
        raise audit_refusal(
            moderator, action, status_id, Forbidden("You cannot decide on your own status")
        )
    return status


async def show(uow: UnitOfWork, moderator: Moderator, status_id: int) -> entities.HeldStatus:
    _require(moderator, "show", status_id)
    status = await statuses_service.held_status(uow, status_id)
    if status is None:
        raise NotFound()
    return (await _entities(uow, [status]))[0]


async def approve(uow: UnitOfWork, moderator: Moderator, status_id: int) -> entities.HeldStatus:
    """Publish the held status; the answer shows it as it was held (`reason`)."""
    status = await _held(uow, moderator, status_id, "approve")
    shown = (await _entities(uow, [status]))[0]
    before = status.held_reason
    await statuses_service.publish_held(uow, uow.engines.settings, status)
    _record(
        moderator,
        "approve",
        audit.Outcome.DONE,
        status.id,
        target_account_id=status.account_id,
        before={"held": before},
        after={"held": None},
    )
    return shown


async def reject(
    uow: UnitOfWork, moderator: Moderator, status_id: int, rejection: Rejection
) -> entities.HeldStatus:
    """Delete the held status, with a `delete_statuses` strike naming it."""
    if len(rejection.text) > MAX_TEXT_LENGTH:
        raise ValidationFailed("text", f"is too long (at most {MAX_TEXT_LENGTH} characters)")
    status = await _held(uow, moderator, status_id, "reject")
    shown = (await _entities(uow, [status]))[0]
    author = await admin_service.admin_accounts(uow.session, [status.account_id])
    strike = await strikes_service.record(
        uow,
        moderator_account_id=moderator.account_id,
        target=author[status.account_id].account,
        action="delete_statuses",
        text=rejection.text,
        report_id=None,
        status_ids=[status.id],
        notify_target=rejection.notify,
    )
    before, author_id = status.held_reason, status.account_id
    await statuses_service.delete_status(uow, uow.engines.settings, status)
    _record(
        moderator,
        "reject",
        audit.Outcome.DONE,
        status_id,
        target_account_id=author_id,
        strike_id=strike.id,
        before={"held": before},
        after="deleted",
    )
    return shown


__all__ = ["AUDIT_EVENT", "HeldReason", "Rejection", "approve", "list_held", "reject", "show"]
