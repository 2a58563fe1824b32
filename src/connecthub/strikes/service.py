"""Strikes and appeals, as Mastodon keeps them.

Every moderation action on an account writes a strike (`record`, called by admin/): what
was done, the moderator's note, the report it resolved. When the moderator asks for the
account holder to be told (`send_email_notification`, Mastodon's default), they get a
`moderation_warning` notification carrying the strike, and a mail. The account holder
reads their strikes (`GET /api/v1/strikes`, a ConnectHub extension) and may appeal each
once, within 20 days of it (`Appeal::MAX_STRIKE_AGE`). Moderators with Manage Appeals
approve an appeal (the strike's action is undone through accounts/suspension.py, the
strike marked overruled) or reject it; either way the account holder is mailed and the
strike's `appeal.state` says so. Every decision and refusal goes to the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta

from connecthub import entities
from connecthub.accounts import suspension
from connecthub.accounts.mail import Mail, send_mail
from connecthub.accounts.models import Account, User
from connecthub.accounts.roles import Permission, has_permission
from connecthub.clock import utcnow
from connecthub.core import i18n
from connecthub.core.i18n import gettext as _
from connecthub.core.pagination import Page
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.ids import new_id
from connecthub.infra.uow import UnitOfWork
from connecthub.notifications.service import NotificationType, notify
from connecthub.ops import audit
from connecthub.privacy import service as privacy
from connecthub.strikes import repository, serializers
from connecthub.strikes.models import AccountWarning, Appeal

MAX_STRIKE_AGE = timedelta(days=20)
MAX_APPEAL_LENGTH = 2000
AUDIT_EVENT = "admin.appeal"
NOT_ALLOWED = "This action is not allowed"


@dataclass(frozen=True)
class Reviewer:
    """A moderator deciding appeals: their account and role (from the token)."""

    account_id: int
    role: str | None


async def record(
    uow: UnitOfWork,
    *,
    moderator_account_id: int,
    target: Account,
    action: str,
    text: str,
    report_id: int | None,
    status_ids: list[int],
    notify_target: bool,
) -> AccountWarning:
    """Write the strike of an action; with `notify_target`, a `moderation_warning`
    notification to the account holder (mailing them is the caller's: it knows the act)."""
    strike = AccountWarning(
        id=new_id(),
        account_id=moderator_account_id,
        target_account_id=target.id,
        action=action,
        text=text,
        status_ids=[str(i) for i in status_ids],
        report_id=report_id,
        created_at=utcnow(),
    )
    uow.session.add(strike)
    await uow.session.flush()
    if notify_target:
        await notify(
            uow,
            recipient_id=target.id,
            from_account_id=target.id,
            type=NotificationType.MODERATION_WARNING,
            activity_id=strike.id,
        )
    return strike


# -- the account holder's side


async def own_strikes(
    uow: UnitOfWork, account_id: int, page: Page
) -> tuple[list[entities.AccountWarning], list[int]]:
    """A page of the account's strikes, newest first, with the ids read (for Link)."""
    rows = await repository.strikes_page(uow.session, account_id, page)
    found = await serializers.warning_entities(uow.session, uow.engines.settings, rows)
    return found, [strike.id for strike, _ in rows]


async def _own(
    uow: UnitOfWork, account_id: int, strike_id: int, *, for_update: bool = False
) -> repository.StrikeRow:
    row = await repository.strike(uow.session, strike_id, for_update=for_update)
    if row is None or row[0].target_account_id != account_id:
        raise NotFound()
    return row


async def own_strike(uow: UnitOfWork, account_id: int, strike_id: int) -> entities.AccountWarning:
    row = await _own(uow, account_id, strike_id)
    return (await serializers.warning_entities(uow.session, uow.engines.settings, [row]))[0]


async def appeal(
    uow: UnitOfWork, account_id: int, strike_id: int, text: str
) -> entities.AccountWarning:
    """Appeal one's own strike: once, with a reason, within MAX_STRIKE_AGE of it."""
    strike, existing = await _own(uow, account_id, strike_id, for_update=True)
    text = text.strip()
    if not text:
        raise ValidationFailed("text", "can't be blank")
    if len(text) > MAX_APPEAL_LENGTH:
        raise ValidationFailed("text", f"is too long (maximum is {MAX_APPEAL_LENGTH} characters)")
    if existing is not None:
        raise ValidationFailed("id", "this strike has already been appealed")
    created = strike.created_at
    if created.tzinfo is None:  # SQLite gives naive datetimes; stored times are UTC
        created = created.replace(tzinfo=UTC)
    if created < utcnow() - MAX_STRIKE_AGE:
        raise ValidationFailed("id", "this strike is too old to be appealed (20 days)")
    made = Appeal(id=new_id(), account_id=account_id, account_warning_id=strike.id, text=text)
    uow.session.add(made)
    await uow.session.flush()
    audit_decision(uow, account_id, None, "appeal", made, strike)
    return (
        await serializers.warning_entities(uow.session, uow.engines.settings, [(strike, made)])
    )[0]


# -- moderators' side


def _refuse(reviewer: Reviewer, action: str, appeal_id: int | None, reason: str) -> Forbidden:
    audit.record(
        AUDIT_EVENT,
        actor=audit.account_actor(reviewer.account_id),
        action=action,
        outcome=audit.Outcome.REFUSED,
        actor_account_id=reviewer.account_id,
        actor_role=reviewer.role or "user",
        appeal_id=appeal_id,
        reason=reason,
    )
    return Forbidden(reason)


def require_manage_appeals(reviewer: Reviewer, action: str, appeal_id: int | None) -> None:
    if not has_permission(reviewer.role, Permission.MANAGE_APPEALS):
        raise _refuse(reviewer, action, appeal_id, NOT_ALLOWED)


def audit_decision(
    uow: UnitOfWork,
    actor_account_id: int,
    actor_role: str | None,
    action: str,
    appeal: Appeal,
    strike: AccountWarning,
    **extra: object,
) -> None:
    """Records an appeal being made or decided, with the transaction that makes it."""
    details = {
        "actor_account_id": actor_account_id,
        "appeal_id": appeal.id,
        "strike_id": strike.id,
        "strike_action": strike.action,
        "target_account_id": strike.target_account_id,
        **extra,
    }
    if actor_role is not None:
        details["actor_role"] = actor_role

    # In the transaction: the request's audit collector persists the entry with it (an
    # entry recorded after the commit reached only the log line, never the audit table).
    audit.record(
        AUDIT_EVENT,
        actor=audit.account_actor(actor_account_id),
        action=action,
        outcome=audit.Outcome.DONE,
        **details,
    )


async def list_appeals(
    uow: UnitOfWork, reviewer: Reviewer, page: Page, *, pending_only: bool
) -> tuple[list[entities.AdminAppeal], list[int]]:
    require_manage_appeals(reviewer, "list", None)
    rows = await repository.appeals_page(uow.session, page, pending_only=pending_only)
    found = await serializers.admin_appeal_entities(uow.session, uow.engines.settings, rows)
    return found, [appeal.id for appeal, _ in rows]


async def show_appeal(uow: UnitOfWork, reviewer: Reviewer, appeal_id: int) -> entities.AdminAppeal:
    require_manage_appeals(reviewer, "show", appeal_id)
    row = await repository.appeal(uow.session, appeal_id)
    if row is None:
        raise NotFound()
    return (await serializers.admin_appeal_entities(uow.session, uow.engines.settings, [row]))[0]


async def _pending(
    uow: UnitOfWork, reviewer: Reviewer, appeal_id: int, action: str
) -> tuple[Appeal, AccountWarning, Account, User | None]:
    require_manage_appeals(reviewer, action, appeal_id)
    row = await repository.appeal(uow.session, appeal_id, for_update=True)
    if row is None:
        raise NotFound()
    appeal, strike = row
    if strike.target_account_id == reviewer.account_id:
        raise _refuse(reviewer, action, appeal_id, "You cannot decide your own appeal")
    if appeal.state != "pending":
        raise ValidationFailed("id", f"this appeal was already {appeal.state}")
    target = await repository.account_with_user(uow.session, strike.target_account_id)
    if target is None:
        raise NotFound()
    return appeal, strike, target[0], target[1]


async def _undo(
    uow: UnitOfWork, strike: AccountWarning, account: Account, user: User | None
) -> None:
    """Mastodon's ApproveAppealService: the strike's action is reversed."""
    if strike.action == "disable" and user is not None:
        suspension.enable_user(user)
    elif strike.action == "sensitive":
        suspension.unsensitize_account(uow, account)
    elif strike.action == "silence":
        suspension.unsilence_account(account)
    elif strike.action == "suspend":
        if await privacy.deletion_of(uow.session, account.id) is not None:
            raise ValidationFailed("id", "this account is being deleted (or was deleted)")
        suspension.unsuspend_account(account)


async def approve(uow: UnitOfWork, reviewer: Reviewer, appeal_id: int) -> entities.AdminAppeal:
    appeal, strike, account, user = await _pending(uow, reviewer, appeal_id, "approve")
    before = suspension.moderation_state(account, user)
    await _undo(uow, strike, account, user)
    now = utcnow()
    appeal.approved_at = now
    appeal.approved_by_account_id = reviewer.account_id
    strike.overruled_at = now
    await uow.session.flush()
    after = suspension.moderation_state(account, user)
    role = reviewer.role or "user"
    audit_decision(
        uow, reviewer.account_id, role, "approve", appeal, strike, before=before, after=after
    )
    _mail(uow, account, user, strike, approved=True)
    rows = [(appeal, strike)]
    return (await serializers.admin_appeal_entities(uow.session, uow.engines.settings, rows))[0]


async def reject(uow: UnitOfWork, reviewer: Reviewer, appeal_id: int) -> entities.AdminAppeal:
    appeal, strike, account, user = await _pending(uow, reviewer, appeal_id, "reject")
    appeal.rejected_at = utcnow()
    appeal.rejected_by_account_id = reviewer.account_id
    await uow.session.flush()
    state = suspension.moderation_state(account, user)
    role = reviewer.role or "user"
    audit_decision(
        uow, reviewer.account_id, role, "reject", appeal, strike, before=state, after=state
    )
    _mail(uow, account, user, strike, approved=False)
    rows = [(appeal, strike)]
    return (await serializers.admin_appeal_entities(uow.session, uow.engines.settings, rows))[0]


def _mail(
    uow: UnitOfWork, account: Account, user: User | None, strike: AccountWarning, *, approved: bool
) -> None:
    if user is None:
        return
    settings = uow.engines.settings
    values = {
        "site": settings.instance_title,
        "username": account.username,
        "action": strike.action,
    }
    with i18n.using(user.locale):
        if approved:
            text = _(
                "Your appeal was approved: the moderation action on your account was reversed."
            )
        else:
            text = _("Your appeal was reviewed and rejected: the moderation action stands.")
        text += "\n\n" + _("The action appealed: %(action)s.") % values + "\n"
        subject = _("%(site)s: your appeal about @%(username)s") % values
    mail = Mail(to=user.email, subject=subject, text=text)
    uow.after_commit(lambda: send_mail(settings, mail))
