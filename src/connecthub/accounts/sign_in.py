"""Checking credentials: the one place that decides whether an e-mail and password (and,
when enabled, a second factor) sign a user in, or let a signed-in user make a change that
asks for them again. Used by the OAuth password grant, the authorize page, the web sign-in
form, and the password change, two-factor and account deletion endpoints alike: every
check counts against the same per-address throttle (`throttle_sign_in`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts import repository, two_factor
from connecthub.accounts.models import Account, User
from connecthub.accounts.passwords import hash_password, needs_rehash, verify_password
from connecthub.clock import utcnow
from connecthub.core.i18n import N_
from connecthub.errors import ConnectHubError, ValidationFailed
from connecthub.infra.engines import Engines
from connecthub.ops import audit
from connecthub.ratelimits import check_sign_in_email, check_sign_in_ip


class SignInError(ConnectHubError):
    """Why sign-in failed, in words safe to show (never whether the e-mail exists)."""

    status_code = 400
    code = "invalid_grant"


class InvalidCredentials(SignInError):
    default_message = N_("Invalid e-mail address or password")


# When a code came with the password, a wrong password and a wrong code answer alike:
# neither may be learned on its own.
INVALID_WITH_CODE = N_("Invalid e-mail address, password or one-time code")


class SecondFactorRequired(SignInError):
    """The password was right; a TOTP or recovery code is needed to finish."""

    code = "otp_required"
    default_message = N_("Two-factor authentication is enabled: a one-time code is required")


class InvalidSecondFactor(SignInError):
    code = "invalid_otp"
    default_message = N_("The one-time code is invalid")


class AccountUnavailable(SignInError):
    status_code = 403
    code = "account_unavailable"


class AccessBlocked(SignInError):
    """A sign-in gate refused the attempt (an IP block of severity no_access)."""

    status_code = 403
    code = "access_denied"
    default_message = N_("This action is not allowed")


async def verify_sign_in(
    session: AsyncSession,
    email: str,
    password: str,
    otp_code: str | None = None,
    *,
    secret_key: str | None = None,
) -> tuple[User, Account]:
    """The user for these credentials, or a SignInError. Rehashes an outdated hash.
    `secret_key` decrypts the TOTP secret (default: the process settings')."""
    user = await repository.user_by_email(session, email.strip())
    if not await verify_password(user.password_hash if user else None, password) or user is None:
        raise InvalidCredentials(INVALID_WITH_CODE if otp_code else None)
    account = await session.get(Account, user.account_id)
    if account is None or account.suspended_at is not None or user.disabled:
        raise AccountUnavailable(N_("This account is suspended or disabled"))
    if user.confirmed_at is None:
        raise AccountUnavailable(N_("Your e-mail address is not confirmed yet"))
    if not user.approved:
        raise AccountUnavailable(N_("Your account is pending review by a moderator"))
    if user.otp_enabled:
        if not otp_code:
            raise SecondFactorRequired()
        if not await two_factor.consume_code(session, user, otp_code, secret_key=secret_key):
            raise InvalidCredentials(INVALID_WITH_CODE)
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    user.last_sign_in_at = utcnow()
    return user, account


async def throttle_sign_in(engines: Engines, *, email: str, ip: str | None = None) -> None:
    """Count one sign-in attempt against the e-mail address, with the limiter's progressive
    lockout: 429 with Retry-After when over the limit. Decided before any look-up, so the
    answer is the same whether or not an account has that address.

    Per client IP, the rate-limit middleware already counts every POST to /auth/sign_in,
    /oauth/token and /oauth/authorize; callers on other paths pass `ip` to count it here.
    """
    await check_sign_in_email(engines, email)
    if ip is not None:
        await check_sign_in_ip(engines, ip)


SignInGate = Callable[[AsyncSession, str | None], Awaitable[None]]
_gates: dict[str, SignInGate] = {}


def on_sign_in(name: str, gate: SignInGate) -> None:
    """Register (or replace) a check every sign-in passes first: it raises to refuse."""
    _gates[name] = gate


async def _pass_gates(session: AsyncSession, ip: str | None) -> None:
    for gate in list(_gates.values()):
        await gate(session, ip)


async def check_gates(session: AsyncSession, ip: str | None, *, method: str) -> None:
    """The sign-in gates alone, for a sign-in proven elsewhere (an OpenID Connect
    provider, `method`): the same blocks refuse it as refuse a password. Audited when
    refused."""
    try:
        await _pass_gates(session, ip)
    except ConnectHubError as refusal:
        _record_sign_in(audit.Outcome.REFUSED, None, ip, reason=refusal.message, method=method)
        raise


async def attempt_sign_in(
    engines: Engines,
    session: AsyncSession,
    *,
    email: str,
    password: str,
    otp_code: str | None = None,
    ip: str | None = None,
) -> tuple[User, Account]:
    """`verify_sign_in` behind the gates and the brute-force throttle: what every sign-in
    form and the OAuth password grant call. Audited, done or refused."""
    try:
        await _pass_gates(session, ip)
        await throttle_sign_in(engines, email=email)
        user, account = await verify_sign_in(
            session, email, password, otp_code, secret_key=engines.settings.secret_key
        )
    except ConnectHubError as refusal:
        if not isinstance(refusal, SecondFactorRequired):  # half-way, not a failure
            _record_sign_in(audit.Outcome.REFUSED, None, ip, reason=refusal.message)
        raise
    _record_sign_in(audit.Outcome.DONE, account.id, ip)
    return user, account


def _record_sign_in(
    outcome: audit.Outcome, account_id: int | None, ip: str | None, **details: object
) -> None:
    # Who tried is not named on a failure: the address typed may be anyone's.
    audit.record(
        "accounts.sign_in",
        actor=audit.account_actor(account_id) if account_id is not None else "anonymous",
        action="sign_in",
        outcome=outcome,
        target_type="Account" if account_id is not None else None,
        target_id=account_id,
        ip=ip,
        **details,
    )


async def reauthenticate(
    engines: Engines,
    session: AsyncSession,
    user: User,
    *,
    password: str,
    otp_code: str | None = None,
    field: str = "password",
    code_field: str | None = "otp_attempt",
) -> None:
    """Ask a signed-in user for their password again, and for a one-time code too when
    two-factor is on and the endpoint takes one (`code_field`), before a change that needs
    them. Counted like a sign-in, so a stolen token guesses no faster than the sign-in
    form; a wrong password and a wrong code give one answer (422 naming both fields)."""
    await throttle_sign_in(engines, email=user.email)
    with_code = code_field is not None and user.otp_enabled
    # Whether a code is needed never depends on the password: asked before checking it.
    if with_code and not otp_code:
        raise ValidationFailed(f"{code_field}", "is required: two-factor authentication is on")
    fields = f"{field} or {code_field}" if with_code else field
    if not password or not await verify_password(user.password_hash, password):
        raise ValidationFailed(fields, "is invalid")
    secret_key = engines.settings.secret_key
    if with_code and not await two_factor.consume_code(
        session, user, otp_code or "", secret_key=secret_key
    ):
        raise ValidationFailed(fields, "is invalid")
