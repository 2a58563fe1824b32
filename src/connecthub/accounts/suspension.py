"""Taking an account out of service, and putting it back: the one place that suspends
(account deletion and moderators both call it) and disables sign-in.

Suspended (`Account.suspended_at`): the account and its content vanish from every read
path (statuses/access.py and the account look-ups filter on it) and it cannot sign in or
use a token. Disabled (`User.disabled`): the person cannot sign in or use a token, but the
account and its content stay visible. Both end every way in at once: tokens are revoked
(caches dropped after commit), browser sessions end, and after commit every open
streaming connection of the account, on every server process, is closed.

Limited (`Account.silenced_at`, Mastodon's "silence"): the account's posts leave the public
and hashtag timelines and its profile leaves search for those who do not follow it, its
follows become requests, and its Account entity says `limited`. Sensitized
(`Account.sensitized_at`): every status of the account is shown `sensitive`, and its new
posts with media are stored so.

Each function is idempotent: suspending a suspended account changes nothing but signs out
again whatever signed in since (nothing can have); marking a marked account keeps the
first mark's time.
"""

from __future__ import annotations

from connecthub.accounts.models import Account, User
from connecthub.clock import utcnow
from connecthub.infra import entity_cache
from connecthub.infra.uow import UnitOfWork
from connecthub.oauth.tokens import close_account_connections, revoke_account_tokens
from connecthub.statuses.serializers import STATUS
from connecthub.web_auth.sessions import revoke_all_web_sessions


async def suspend_account(
    uow: UnitOfWork, account: Account, user: User | None, *, disable_login: bool = False
) -> int:
    """Suspend `account` (keeping the first suspension's time) and sign it out everywhere;
    with `disable_login`, also disable its user (deletion: it never signs in again).
    Returns how many tokens were revoked (for the audit trail)."""
    account.suspended_at = account.suspended_at or utcnow()
    if user is not None and disable_login:
        user.disabled = True
    return await _sign_out_everywhere(uow, account.id, user)


def unsuspend_account(account: Account) -> None:
    """Make the account and its content visible again. Tokens revoked by the suspension
    stay revoked: the person signs in again."""
    account.suspended_at = None


async def disable_user(uow: UnitOfWork, user: User) -> int:
    """Refuse sign-in and every token of the user; the account stays visible. Returns how
    many tokens were revoked."""
    user.disabled = True
    return await _sign_out_everywhere(uow, user.account_id, user)


async def hold_for_approval(uow: UnitOfWork, user: User) -> None:
    """Put the user back among those awaiting a moderator's approval (automated detection's
    hold): signed out everywhere, refused sign-in and tokens until approved, as a sign-up in
    approval mode is; the account stays visible."""
    user.approved = False
    await _sign_out_everywhere(uow, user.account_id, user)


def enable_user(user: User) -> None:
    user.disabled = False


def silence_account(account: Account) -> None:
    account.silenced_at = account.silenced_at or utcnow()


def unsilence_account(account: Account) -> None:
    account.silenced_at = None


def sensitize_account(uow: UnitOfWork, account: Account) -> None:
    if account.sensitized_at is None:
        account.sensitized_at = utcnow()
        _retire_status_renderings(uow)


def unsensitize_account(uow: UnitOfWork, account: Account) -> None:
    if account.sensitized_at is not None:
        account.sensitized_at = None
        _retire_status_renderings(uow)


def moderation_state(account: Account, user: User | None) -> dict[str, bool]:
    """The marks this module sets, as the audit trail keeps them before and after an act."""
    return {
        "suspended": account.suspended_at is not None,
        "silenced": account.silenced_at is not None,
        "sensitized": account.sensitized_at is not None,
        "disabled": bool(user is not None and user.disabled),
        "approved": bool(user is not None and user.approved),
    }


def _retire_status_renderings(uow: UnitOfWork) -> None:
    # Each cached status rendering carries `sensitive` as its author's mark left it, and no
    # row change names an author's statuses: the whole kind goes (a rare act; ADR 0027).
    entity_cache.retire_on_commit(uow.session, STATUS)


async def _sign_out_everywhere(uow: UnitOfWork, account_id: int, user: User | None) -> int:
    if user is not None:
        await revoke_all_web_sessions(uow, user)
    revoked = await revoke_account_tokens(uow, account_id)
    close_account_connections(uow, account_id)
    return revoked
