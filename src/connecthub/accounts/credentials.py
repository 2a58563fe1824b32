"""Changing and resetting passwords. Either way every other sign-in ends: all tokens but
the caller's own are revoked (caches dropped, streaming connections told) and browser
sessions are closed."""

from __future__ import annotations

from connecthub.accounts import repository
from connecthub.accounts.mail import Mail, send_mail
from connecthub.accounts.models import User
from connecthub.accounts.password_policy import check_password
from connecthub.accounts.passwords import hash_password
from connecthub.accounts.sign_in import reauthenticate
from connecthub.accounts.signed_tokens import reset_token, reset_token_valid, reset_user_id
from connecthub.clock import utcnow
from connecthub.config import Settings
from connecthub.core import i18n
from connecthub.core.i18n import N_
from connecthub.core.i18n import gettext as _
from connecthub.errors import ValidationFailed
from connecthub.infra.uow import UnitOfWork
from connecthub.oauth.tokens import revoke_account_tokens
from connecthub.web_auth import sessions as web_sessions

INVALID_RESET = N_("is invalid or has expired")


async def _set_password(
    uow: UnitOfWork, user: User, password: str, *, keep_token_id: int | None
) -> None:
    user.password_hash = await hash_password(password)
    user.password_changed_at = utcnow()
    await revoke_account_tokens(uow, user.account_id, keep_token_id=keep_token_id)
    await web_sessions.revoke_all_web_sessions(uow, user)


async def change_password(
    uow: UnitOfWork,
    user: User,
    *,
    current_password: str,
    new_password: str,
    keep_token_id: int | None,
) -> None:
    await reauthenticate(
        uow.engines,
        uow.session,
        user,
        password=current_password,
        field="current_password",
        code_field=None,
    )
    account = await repository.account_by_id(uow.session, user.account_id)
    check_password(new_password, personal=(account.username if account else "", user.email))
    await _set_password(uow, user, new_password, keep_token_id=keep_token_id)


def _reset_mail(settings: Settings, user: User) -> Mail:
    token = reset_token(settings.secret_key, user)
    values = {
        "site": settings.instance_title,
        "link": f"{settings.base_url}/auth/password/edit?reset_password_token={token}",
    }
    with i18n.using(user.locale):
        return Mail(
            to=user.email,
            subject=_("%(site)s: reset your password") % values,
            text=_(
                "Someone asked to reset the password of your account. To choose a new one, "
                "open this link within two hours (it works once):\n\n%(link)s\n\n"
                "If it was not you, ignore this message; your password stays as it is.\n"
            )
            % values,
        )


async def request_reset(uow: UnitOfWork, settings: Settings, email: str) -> None:
    """Mail a reset link when the address belongs to a usable account. The caller answers
    the same either way, so the response never tells whether the address exists."""
    user = await repository.user_by_email(uow.session, email.strip())
    if user is None or user.disabled:
        return
    account = await repository.account_by_id(uow.session, user.account_id)
    if account is None or account.suspended_at is not None:
        return
    mail = _reset_mail(settings, user)
    uow.after_commit(lambda: send_mail(settings, mail))


async def user_for_reset(uow: UnitOfWork, settings: Settings, token: str) -> User:
    user_id = reset_user_id(settings.secret_key, token)
    user = await repository.user_by_id(uow.session, user_id) if user_id else None
    if user is None or not reset_token_valid(settings.secret_key, token, user):
        raise ValidationFailed("reset_password_token", INVALID_RESET)
    return user


async def reset_password(
    uow: UnitOfWork, settings: Settings, *, token: str, new_password: str
) -> User:
    """Set the password from a mailed token. The new hash kills the token (single use)."""
    user = await user_for_reset(uow, settings, token)
    account = await repository.account_by_id(uow.session, user.account_id)
    check_password(new_password, personal=(account.username if account else "", user.email))
    await _set_password(uow, user, new_password, keep_token_id=None)
    # Following the mailed link proves the address.
    if user.confirmed_at is None:
        user.confirmed_at = utcnow()
    return user
