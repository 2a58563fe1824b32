"""What a verified provider identity means here: sign in the user it is linked to, offer to
link it to the account with the same (provider-verified) e-mail address once that account's
password is given, or create an account through the ordinary sign-up rules.

Every step starts again from the database and the verified identity, so a form posted
twice, or posted after the situation changed, can never link or create the wrong thing.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts import registration, service, two_factor
from connecthub.accounts.models import Account, User
from connecthub.accounts.sign_in import (
    AccountUnavailable,
    InvalidSecondFactor,
    check_gates,
    throttle_sign_in,
    verify_sign_in,
)
from connecthub.clock import utcnow
from connecthub.core.i18n import N_
from connecthub.errors import Conflict, ValidationFailed
from connecthub.infra.engines import Engines
from connecthub.infra.uow import UnitOfWork
from connecthub.oidc import repository as oidc_repository
from connecthub.oidc.models import Identity
from connecthub.oidc.relying_party import VerifiedIdentity

CONSENT_METHOD = "oidc"
SIGN_IN_METHOD = "oidc"
_USERNAME_JUNK = re.compile(r"[^A-Za-z0-9_]+")


@dataclass(frozen=True)
class SignIn:
    """The identity is linked: sign this user in (after a second factor, when enabled)."""

    user: User
    account: Account


@dataclass(frozen=True)
class LinkOffer:
    """An account has the provider-verified e-mail address: offer to link, with password."""

    user: User
    account: Account


@dataclass(frozen=True)
class SignUpOffer:
    """Nobody here to link to (or the e-mail address is not verified): offer sign-up."""

    suggested_username: str


Outcome = SignIn | LinkOffer | SignUpOffer


async def outcome_for(session: AsyncSession, identity: VerifiedIdentity) -> Outcome:
    owner = await oidc_repository.owner_of(session, identity.provider, identity.subject)
    if owner is not None:
        return SignIn(*owner)
    if identity.email and identity.email_verified:
        user = await service.user_by_email(session, identity.email)
        account = await session.get(Account, user.account_id) if user else None
        if user is not None and account is not None:
            return LinkOffer(user, account)
    return SignUpOffer(await suggest_username(session, identity))


def check_may_sign_in(user: User, account: Account) -> None:
    """The same account states that refuse a password sign-in refuse this one."""
    if account.suspended_at is not None or user.disabled:
        raise AccountUnavailable(N_("This account is suspended or disabled"))
    if user.confirmed_at is None:
        raise AccountUnavailable(N_("Your e-mail address is not confirmed yet"))
    if not user.approved:
        raise AccountUnavailable(N_("Your account is pending review by a moderator"))


async def check_address(session: AsyncSession, ip: str | None) -> None:
    """The sign-in gates a password sign-in passes (an IP block of severity no_access
    refuses it): for every step that would sign someone in."""
    await check_gates(session, ip, method=SIGN_IN_METHOD)


async def sign_in_linked(session: AsyncSession, identity: VerifiedIdentity) -> SignIn:
    """The linked user, checked; the caller asks for a second factor when it is enabled."""
    outcome = await outcome_for(session, identity)
    if not isinstance(outcome, SignIn):
        raise Conflict("This sign-in identity is no longer linked to an account")
    check_may_sign_in(outcome.user, outcome.account)
    return outcome


async def finish_second_factor(
    engines: Engines, session: AsyncSession, identity: VerifiedIdentity, otp_code: str, *, ip: str
) -> SignIn:
    await check_address(session, ip)
    linked = await sign_in_linked(session, identity)
    # Codes are few: guessing them is throttled like guessing passwords.
    await throttle_sign_in(engines, email=linked.user.email, ip=ip)
    secret_key = engines.settings.secret_key
    if not await two_factor.consume_code(session, linked.user, otp_code, secret_key=secret_key):
        raise InvalidSecondFactor()
    return linked


async def link_with_password(
    engines: Engines,
    session: AsyncSession,
    identity: VerifiedIdentity,
    *,
    password: str,
    otp_code: str | None,
    ip: str,
) -> SignIn:
    """Link only to the account the offer named, and only with its password (and second
    factor): the provider's word on an e-mail address is never enough on its own."""
    outcome = await outcome_for(session, identity)
    if not isinstance(outcome, LinkOffer) or identity.email is None:
        raise Conflict("This identity can no longer be linked; please sign in again")
    await check_address(session, ip)
    # The throttle counts this path's IP too: the rate-limit middleware covers only the
    # ordinary sign-in routes.
    await throttle_sign_in(engines, email=identity.email, ip=ip)
    user, account = await verify_sign_in(
        session, identity.email, password, otp_code, secret_key=engines.settings.secret_key
    )
    _link(session, identity, user)
    return SignIn(user, account)


@dataclass(frozen=True)
class SignUpForm:
    username: str
    date_of_birth: date | None
    agreement: bool


async def sign_up(
    uow: UnitOfWork, identity: VerifiedIdentity, form: SignUpForm
) -> tuple[User, Account]:
    """Create an account for this identity through the sign-up rules every way of joining
    shares (registration mode, username and e-mail checks, age gate, recorded consent)."""
    settings = uow.engines.settings
    if await oidc_repository.owner_of(uow.session, identity.provider, identity.subject):
        raise Conflict("This sign-in identity is already linked to an account")
    if identity.email is None:
        raise ValidationFailed("email", "was not shared by the sign-in provider")
    account, user = await registration.register(
        uow,
        settings,
        registration.SignUp(
            username=form.username.strip(),
            email=identity.email,
            # Nobody knows this password: the person signs in through the provider, or
            # sets a password of their own with a reset.
            password=secrets.token_urlsafe(32),
            agreement=form.agreement,
            date_of_birth=form.date_of_birth,
            method=CONSENT_METHOD,
        ),
    )
    if identity.email_verified and user.confirmed_at is None:
        # The provider has verified the address already.
        user.confirmed_at = utcnow()
    _link(uow.session, identity, user)
    await uow.session.flush()
    return user, account


async def suggest_username(session: AsyncSession, identity: VerifiedIdentity) -> str:
    """A free, valid username from the provider's username or the e-mail's local part."""
    source = identity.preferred_username or (identity.email or "").split("@")[0]
    base = _USERNAME_JUNK.sub("_", source).strip("_")[:24] or "user"
    if base.lower() in service.RESERVED_USERNAMES:
        base = f"{base}_user"[:24]
    candidate = base
    for number in range(2, 50):
        if not await service.username_taken(session, candidate):
            return candidate
        candidate = f"{base}{number}"
    return f"{base}_{secrets.randbelow(10**5)}"


def _link(session: AsyncSession, identity: VerifiedIdentity, user: User) -> None:
    oidc_repository.add_identity(
        session,
        Identity(
            user_id=user.id,
            provider=identity.provider,
            subject=identity.subject,
            email=identity.email,
        ),
    )
