"""Sign-up: the rules every way of joining shares (API, web form, OpenID Connect).

Everything is checked before anything is written, so a refused sign-up stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts import repository, service, signup_hooks
from connecthub.accounts.mail import Mail, send_mail
from connecthub.accounts.models import Account, User
from connecthub.accounts.password_policy import check_password
from connecthub.accounts.passwords import hash_password
from connecthub.accounts.signed_tokens import confirmation_token, read_confirmation
from connecthub.clock import utcnow
from connecthub.config import RegistrationMode, Settings
from connecthub.core import i18n
from connecthub.core.i18n import N_, deferred
from connecthub.core.i18n import gettext as _
from connecthub.errors import Forbidden, NotFound, ValidationFailed
from connecthub.infra.uow import UnitOfWork

MAX_REASON_LENGTH = 1000


@dataclass(frozen=True)
class SignUp:
    username: str
    email: str
    password: str
    agreement: bool
    date_of_birth: date | None = None
    locale: str = "en"
    reason: str = ""
    method: str = "api"  # how consent was given: "api", "web" or "oidc"
    ip: str | None = None  # the client's address (detection counts sign-ups per range)


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def check_age(settings: Settings, born: date | None) -> None:
    """The age gate: refuse anyone younger than MIN_SIGNUP_AGE (date required when > 0)."""
    if settings.min_signup_age <= 0:
        return
    if born is None:
        raise ValidationFailed("date_of_birth", N_("is required"))
    today = utcnow().date()
    if born > today:
        raise ValidationFailed("date_of_birth", N_("is in the future"))
    if age_on(born, today) < settings.min_signup_age:
        raise ValidationFailed(
            "date_of_birth",
            deferred(N_("is below the minimum age of %(age)s"), age=settings.min_signup_age),
        )


def check_open(settings: Settings) -> None:
    if settings.registration_mode is RegistrationMode.CLOSED:
        raise Forbidden("Registrations are closed")


def confirmation_url(settings: Settings, user: User) -> str:
    token = confirmation_token(settings.secret_key, user)
    return f"{settings.base_url}/auth/confirmation?confirmation_token={token}"


def _confirmation_mail(settings: Settings, account: Account, user: User) -> Mail:
    values = {
        "site": settings.instance_title,
        "username": account.username,
        "link": confirmation_url(settings, user),
    }
    with i18n.using(user.locale):
        return Mail(
            to=user.email,
            subject=_("%(site)s: confirm your e-mail address") % values,
            text=_(
                "Hello @%(username)s,\n\n"
                "To finish joining %(site)s, confirm your e-mail address by opening this link "
                "within three days:\n\n%(link)s\n\n"
                "If you did not sign up, ignore this message.\n"
            )
            % values,
        )


async def register(uow: UnitOfWork, settings: Settings, form: SignUp) -> tuple[Account, User]:
    """Create the account per the registration mode. With SMTP configured the address must
    be confirmed through a mailed link; without it (embedded) it is confirmed at once."""
    check_open(settings)
    signup_hooks.ensure_required()
    service.check_username(form.username)
    service.check_email(form.email)
    check_password(form.password, personal=(form.username, form.email))
    if not form.agreement:
        raise ValidationFailed("agreement", N_("must be accepted"))
    check_age(settings, form.date_of_birth)
    if len(form.reason) > MAX_REASON_LENGTH:
        raise ValidationFailed(
            "reason", deferred(N_("is too long (maximum is %(count)s)"), count=MAX_REASON_LENGTH)
        )
    needs_confirmation = settings.smtp_url is not None
    account, user = await service.create_user(
        uow.session,
        username=form.username,
        email=form.email,
        password=form.password,
        confirmed=not needs_confirmation,
        approved=settings.registration_mode is not RegistrationMode.APPROVAL,
        locale=form.locale[:16] or "en",
        reason=form.reason,
    )
    if settings.min_signup_age > 0:
        user.age_verified_on = utcnow().date()
    # Consent to the terms (privacy/), and any other domain's reaction, in this same unit.
    await signup_hooks.run(uow, settings, signup_hooks.Joined(account, user, form.method, form.ip))
    if needs_confirmation:
        mail = _confirmation_mail(settings, account, user)
        uow.after_commit(lambda: send_mail(settings, mail))
    await uow.session.flush()
    return account, user


async def sign_up(uow: UnitOfWork, settings: Settings, form: SignUp) -> tuple[Account, User] | None:
    """`register`, for the sign-up forms and API, which must not tell whether an address
    has an account: when it has, nothing is created, its owner is mailed a notice, and
    None tells the caller to answer as for a fresh sign-up. REVEAL_TAKEN_EMAILS=true
    keeps the 422 "email: is already taken" instead. (Usernames are public: a taken one
    stays a 422.)"""
    try:
        return await register(uow, settings, form)
    except service.EmailTaken:
        if settings.reveal_taken_emails:
            raise
    # As slow as a real sign-up, which hashes the password: timing tells nothing either.
    await hash_password(form.password)
    await _tell_owner(uow, settings, form.email)
    return None


def _taken_notice(settings: Settings, account: Account, user: User) -> Mail:
    values = {
        "site": settings.instance_title,
        "username": account.username,
        "root": settings.base_url,
    }
    with i18n.using(user.locale):
        return Mail(
            to=user.email,
            subject=_("%(site)s: someone tried to sign up with your address") % values,
            text=_(
                "Hello @%(username)s,\n\n"
                "Someone tried to create a new account on %(site)s with this e-mail address, "
                "which already belongs to your account. No account was made and yours is "
                "unchanged.\n\n"
                "If it was you, sign in at %(root)s/auth/sign_in, or choose a new password at "
                "%(root)s/auth/password/new if you have forgotten it.\n\n"
                "If it was not you, ignore this message.\n"
            )
            % values,
        )


async def _tell_owner(uow: UnitOfWork, settings: Settings, email: str) -> None:
    user = await repository.user_by_email(uow.session, email)
    account = await repository.account_by_id(uow.session, user.account_id) if user else None
    if user is None or account is None or user.disabled or account.suspended_at is not None:
        return
    mail = _taken_notice(settings, account, user)
    uow.after_commit(lambda: send_mail(settings, mail))


async def confirm_email(uow: UnitOfWork, settings: Settings, token: str) -> User:
    """Mark the address confirmed; the token names the user and the address it was sent to."""
    found = read_confirmation(settings.secret_key, token)
    user = await repository.user_by_id(uow.session, found[0]) if found else None
    if found is None or user is None or user.email_key != found[1]:
        raise ValidationFailed("confirmation_token", N_("is invalid or has expired"))
    if user.confirmed_at is None:
        user.confirmed_at = utcnow()
    return user


async def resend_confirmation(
    uow: UnitOfWork, settings: Settings, account_id: int, email: str | None
) -> None:
    """Mastodon's `POST /api/v1/emails/confirmations`: mail the confirmation link again,
    to `email` when given (the address changes first; a link sent to the old one stops
    working, as it names the address). Only while the address awaits confirmation (403)."""
    user = await service.user_for_account(uow.session, account_id)
    if user is None:
        raise NotFound()
    if user.confirmed_at is not None:
        raise Forbidden("This method is only available while the e-mail is awaiting confirmation")
    if email is not None:
        email = email.strip()
        service.check_email(email)
        other = await service.user_by_email(uow.session, email)
        if other is not None and other.id != user.id:
            raise service.EmailTaken()
        user.email, user.email_key = email, email.lower()
        await uow.session.flush()
    account = await service.account_by_id(uow.session, account_id)
    assert account is not None  # a user's account row exists while the user does
    mail = _confirmation_mail(settings, account, user)
    uow.after_commit(lambda: send_mail(settings, mail))


async def approve(session: AsyncSession, username: str) -> User:
    """A moderator lets a pending account in."""
    account = await repository.account_by_username(session, username)
    user = await repository.user_for_account(session, account.id) if account else None
    if user is None:
        raise NotFound(f"No local user named {username!r}")
    user.approved = True
    await session.flush()
    return user
