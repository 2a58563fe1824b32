"""Moderators' account rules: who may see and act on which account, and the actions
themselves (none, sensitive, silence, disable, suspend; their undoing; rejecting a
sign-up), which go through the one suspension path in accounts/suspension.py. Each action
writes a strike (strikes/service.record), which tells the account holder when the
moderator asks for it (`send_email_notification`, Mastodon's default).

Who: a role with the Manage Users permission (moderators and admins), on an account whose
role ranks strictly below theirs (`roles.outranks`), never on their own account. An account
whose deletion was asked for is the privacy domain's: it is not unsuspended, enabled or
acted on here. Every action is idempotent. Each one that commits writes an audit line
(`admin.account_action`: who, what, on whom, the account's state `before` and `after`,
`outcome` done) through ops/audit.py, in the act's transaction, and so does every attempt
refused with 403 (`outcome` refused, with the reason), in a transaction of its own, as the
refusal rolls the request back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts import suspension
from connecthub.accounts.mail import Mail, send_mail
from connecthub.accounts.models import Account, User
from connecthub.accounts.roles import Permission, has_permission, outranks
from connecthub.admin import repository
from connecthub.admin.schemas import (
    AccountAction,
    AccountFilter,
    ActionType,
    Moderator,
)
from connecthub.core import i18n
from connecthub.core.i18n import N_
from connecthub.core.i18n import gettext as _
from connecthub.core.pagination import Page
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.ids import MAX_ID
from connecthub.infra.uow import UnitOfWork
from connecthub.ops import audit
from connecthub.privacy import service as privacy
from connecthub.reports import service as reports
from connecthub.strikes import service as strikes

AUDIT_EVENT = "admin.account_action"

NOT_ALLOWED = "This action is not allowed"


@dataclass(frozen=True)
class AdminAccount:
    """What the Admin::Account entity is made from."""

    account: Account
    user: User | None
    ips: list[tuple[str, datetime]]


def audit_refusal(
    moderator: Moderator, action: str, account_id: int | None, refusal: Forbidden
) -> Forbidden:
    """Records a refused attempt and returns the refusal, to be raised."""
    audit.record(
        AUDIT_EVENT,
        actor=audit.account_actor(moderator.account_id),
        action=action,
        outcome=audit.Outcome.REFUSED,
        actor_account_id=moderator.account_id,
        actor_role=moderator.role or "user",
        target_account_id=account_id,
        reason=refusal.message,
    )
    return refusal


def _require_manage_users(moderator: Moderator, action: str, account_id: int | None) -> None:
    if not has_permission(moderator.role, Permission.MANAGE_USERS):
        raise audit_refusal(moderator, action, account_id, Forbidden(NOT_ALLOWED))


async def _with_ips(session: AsyncSession, rows: list[repository.AccountRow]) -> list[AdminAccount]:
    ips = await repository.session_ips(session, [user.id for _, user in rows if user is not None])
    return [
        AdminAccount(account, user, ips.get(user.id, []) if user is not None else [])
        for account, user in rows
    ]


async def _found(
    session: AsyncSession, account_id: int, *, for_update: bool
) -> repository.AccountRow:
    row = None
    if 0 < account_id <= MAX_ID:
        row = await repository.account_with_user(session, account_id, for_update=for_update)
    if row is None:
        raise NotFound()
    return row


async def show(session: AsyncSession, moderator: Moderator, account_id: int) -> AdminAccount:
    _require_manage_users(moderator, "show", account_id)
    row = await _found(session, account_id, for_update=False)
    return (await _with_ips(session, [row]))[0]


async def admin_accounts(session: AsyncSession, account_ids: list[int]) -> dict[int, AdminAccount]:
    """What other domains' moderator entities embed (a report's accounts), by id, in two
    queries; the caller has checked the moderator's own permission."""
    rows = await repository.accounts_with_users(session, sorted(set(account_ids)))
    return {found.account.id: found for found in await _with_ips(session, rows)}


async def list_accounts(
    session: AsyncSession, moderator: Moderator, filters: AccountFilter, page: Page
) -> list[AdminAccount]:
    _require_manage_users(moderator, "list", None)
    return await _with_ips(session, await repository.accounts_page(session, filters, page))


async def _target(
    uow: UnitOfWork, moderator: Moderator, account_id: int, action: str
) -> repository.AccountRow:
    """The account a moderator acts on, locked for the change; 403 (audited) when they may
    not."""
    _require_manage_users(moderator, action, account_id)
    account, user = await _found(uow.session, account_id, for_update=True)
    if account.id == moderator.account_id:
        refusal = Forbidden("You cannot moderate your own account")
        raise audit_refusal(moderator, action, account.id, refusal)
    if not outranks(moderator.role, user.role if user is not None else None):
        raise audit_refusal(moderator, action, account.id, Forbidden(NOT_ALLOWED))
    if await privacy.deletion_of(uow.session, account.id) is not None:
        raise ValidationFailed("id", "this account is being deleted (or was deleted)")
    return account, user


def audit_act(
    uow: UnitOfWork, moderator: Moderator, account: Account, action: str, **extra: object
) -> None:
    """Records a moderator's act: its row is written in the request's transaction (and
    its line once that commits), by the unit of work collecting the request's entries."""
    audit.record(
        AUDIT_EVENT,
        actor=audit.account_actor(moderator.account_id),
        action=action,
        outcome=audit.Outcome.DONE,
        actor_account_id=moderator.account_id,
        actor_role=moderator.role or "user",
        target_account_id=account.id,
        target_username=account.username,
        **extra,
    )


_NOTICES = {
    ActionType.NONE: N_("A moderator sent you a warning about your account."),
    ActionType.SENSITIVE: N_("A moderator has marked the media of your account as sensitive."),
    ActionType.SILENCE: N_(
        "A moderator has limited your account: only your followers see your posts, and "
        "your follows need approval."
    ),
    ActionType.DISABLE: N_("A moderator has disabled sign-in to your account."),
    ActionType.SUSPEND: N_("A moderator has suspended your account: it and its posts are hidden."),
}


async def _resolve_report(
    uow: UnitOfWork, moderator: Moderator, report_id: int | None, action: str
) -> int | None:
    """The report an action names, resolved by it in the action's transaction (reports/;
    404 for an unknown report, as Mastodon's `Report.find`)."""
    if report_id is None:
        return None
    try:
        await reports.resolve_by_action(uow, report_id, moderator.account_id, action)
    except NotFound:
        raise NotFound("report_id does not name a report") from None
    return report_id


def _notify(uow: UnitOfWork, account: Account, user: User, action: AccountAction) -> None:
    settings = uow.engines.settings
    values = {"site": settings.instance_title, "username": account.username}
    with i18n.using(user.locale):
        text = _(_NOTICES[action.type])
        if action.text:
            text += "\n\n" + _("The moderator's note:") + f"\n\n{action.text}"
        subject = _("%(site)s: a moderation action on @%(username)s") % values
    mail = Mail(to=user.email, subject=subject, text=text + "\n")
    uow.after_commit(lambda: send_mail(settings, mail))


async def perform_action(
    uow: UnitOfWork, moderator: Moderator, account_id: int, action: AccountAction
) -> None:
    account, user = await _target(uow, moderator, account_id, action.type.value)
    if action.warning_preset_id is not None:
        # ConnectHub has no warning presets: no id names one (404, as Mastodon's find).
        raise NotFound("warning_preset_id does not name a warning preset")
    report_id = await _resolve_report(uow, moderator, action.report_id, action.type.value)
    before = suspension.moderation_state(account, user)
    revoked = 0  # tokens revoked by the act: on record with it
    if action.type is ActionType.SUSPEND:
        revoked = await suspension.suspend_account(uow, account, user)
    elif action.type is ActionType.DISABLE:
        if user is None:
            raise ValidationFailed("type", "this account has no login to disable")
        revoked = await suspension.disable_user(uow, user)
    elif action.type is ActionType.SILENCE:
        suspension.silence_account(account)
    elif action.type is ActionType.SENSITIVE:
        suspension.sensitize_account(uow, account)
    # Mastodon tells only local accounts with a login; here every account has one until
    # it is erased.
    tell = action.send_email_notification and user is not None
    strike = await strikes.record(
        uow,
        moderator_account_id=moderator.account_id,
        target=account,
        action=action.type.value,
        text=action.text,
        report_id=report_id,
        status_ids=[],
        notify_target=tell,
    )
    if tell and user is not None:
        _notify(uow, account, user, action)
    audit_act(
        uow,
        moderator,
        account,
        action.type.value,
        strike_id=strike.id,
        report_id=report_id,
        note_length=len(action.text),
        email_notification=action.send_email_notification,
        tokens_revoked=revoked,
        before=before,
        after=suspension.moderation_state(account, user),
    )


async def _undo(
    uow: UnitOfWork, moderator: Moderator, account_id: int, action: str
) -> AdminAccount:
    account, user = await _target(uow, moderator, account_id, action)
    before = suspension.moderation_state(account, user)
    if action == "unsuspend":
        suspension.unsuspend_account(account)
    elif action == "enable" and user is not None:
        suspension.enable_user(user)
    elif action == "unsilence":
        suspension.unsilence_account(account)
    elif action == "unsensitive":
        suspension.unsensitize_account(uow, account)
    await uow.session.flush()
    audit_act(
        uow,
        moderator,
        account,
        action,
        before=before,
        after=suspension.moderation_state(account, user),
    )
    return (await _with_ips(uow.session, [(account, user)]))[0]


async def unsuspend(uow: UnitOfWork, moderator: Moderator, account_id: int) -> AdminAccount:
    return await _undo(uow, moderator, account_id, "unsuspend")


async def enable(uow: UnitOfWork, moderator: Moderator, account_id: int) -> AdminAccount:
    return await _undo(uow, moderator, account_id, "enable")


async def unsilence(uow: UnitOfWork, moderator: Moderator, account_id: int) -> AdminAccount:
    return await _undo(uow, moderator, account_id, "unsilence")


async def unsensitive(uow: UnitOfWork, moderator: Moderator, account_id: int) -> AdminAccount:
    return await _undo(uow, moderator, account_id, "unsensitive")


async def reject(uow: UnitOfWork, moderator: Moderator, account_id: int) -> AdminAccount:
    """Turn down a sign-up held for approval: the account is erased as a deleted one is
    (privacy's one erasure path). 403 for an account already approved (Mastodon's policy)."""
    account, user = await _target(uow, moderator, account_id, "reject")
    if user is None or user.approved:
        raise audit_refusal(moderator, "reject", account.id, Forbidden(NOT_ALLOWED))
    before = suspension.moderation_state(account, user)
    await privacy.delete_for_moderator(uow, account.id, moderator.account_id)
    audit_act(
        uow,
        moderator,
        account,
        "reject",
        before=before,
        after=suspension.moderation_state(account, user),
    )
    return (await _with_ips(uow.session, [(account, user)]))[0]
