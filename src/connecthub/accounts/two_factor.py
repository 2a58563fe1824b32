"""Two-factor sign-in with TOTP (pyotp) and single-use recovery codes.

The TOTP secret is encrypted at rest (Fernet, with a key derived from SECRET_KEY by HKDF),
so a copy of the database alone cannot mint codes; recovery codes are kept only as hashes.
A TOTP code is accepted once: the time step it belongs to is claimed with a conditional
UPDATE; a recovery code is spent under the user's row lock. Either way, of requests racing
with one code exactly one succeeds, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from connecthub.accounts import repository
from connecthub.accounts.models import User
from connecthub.clock import utcnow
from connecthub.core import sealed
from connecthub.errors import Conflict, ValidationFailed
from connecthub.oauth.tokens import hash_secret

RECOVERY_CODE_COUNT = 10
_STEP_SECONDS = 30
_PURPOSE = b"connecthub.totp-secret.v1"


def _default_secret_key() -> str:
    from connecthub.config import get_settings

    return get_settings().secret_key


def encrypt_secret(secret_key: str, plain: str) -> str:
    return sealed.seal(secret_key, _PURPOSE, plain)


def decrypt_secret(secret_key: str, stored: str | None) -> str | None:
    return sealed.unseal(secret_key, _PURPOSE, stored)


def _normalise(code: str) -> str:
    return code.strip().replace(" ", "").replace("-", "").lower()


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (now ±1, for clock drift) whose TOTP code is `code`."""
    # ASCII only: `²` passes isdigit(), and compare_digest refuses non-ASCII text.
    if not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now = utcnow()
    current = int(now.timestamp()) // _STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if secrets.compare_digest(totp.at(step * _STEP_SECONDS), code):
            return step
    return None


async def consume_code(
    session: AsyncSession, user: User, code: str, *, secret_key: str | None = None
) -> bool:
    """True for a current, not yet used TOTP code or an unused recovery code (then spent).
    Every path that redeems a code comes here; of requests racing with one code, exactly
    one gets True on every engine."""
    code = _normalise(code)
    if not code:
        return False
    secret = decrypt_secret(secret_key or _default_secret_key(), user.otp_secret)
    if secret:
        step = _matching_step(secret, code)
        if step is not None and await repository.claim_otp_step(session, user.id, step):
            # The UPDATE already wrote it; keep the loaded object in step without a flush.
            set_committed_value(user, "otp_last_step", step)
            return True
    return await _spend_recovery_code(session, user, code)


async def _spend_recovery_code(session: AsyncSession, user: User, code: str) -> bool:
    hashed = hash_secret(code)
    if hashed not in (user.otp_recovery_hashes or []):
        return False
    # The hashes are one JSON value, which SQL cannot compare portably: decide under the
    # row's lock, on what is committed now.
    await repository.lock_user(session, user)
    if hashed not in (user.otp_recovery_hashes or []):
        return False
    user.otp_recovery_hashes = [h for h in user.otp_recovery_hashes if h != hashed]
    await session.flush()
    return True


@dataclass(frozen=True)
class Enrolment:
    secret: str
    provisioning_uri: str
    qr_code: str  # an SVG data URI


def begin(user: User, *, secret_key: str, account_label: str, issuer: str) -> Enrolment:
    """Make a new secret (replacing an unconfirmed one); enabled only after `confirm`."""
    if user.otp_enabled:
        raise Conflict("Two-factor authentication is already enabled")
    secret = pyotp.random_base32()
    user.otp_secret = encrypt_secret(secret_key, secret)
    user.otp_last_step = None
    uri = pyotp.TOTP(secret).provisioning_uri(name=account_label, issuer_name=issuer)
    qr = segno.make(uri, error="m").svg_data_uri(scale=4)
    return Enrolment(secret=secret, provisioning_uri=uri, qr_code=qr)


def _new_recovery_code() -> str:
    raw = secrets.token_hex(8)
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


# Confirming checks the password first (sign_in.reauthenticate), then the code: a wrong one
# of either gets this one answer, so the step tells nothing about the password.
CONFIRM_FIELDS = "password or code"


async def confirm(session: AsyncSession, user: User, code: str, *, secret_key: str) -> list[str]:
    """Enable two-factor when `code` matches the pending secret; return the recovery codes,
    which are shown this once and stored only hashed."""
    if user.otp_enabled:
        raise Conflict("Two-factor authentication is already enabled")
    if not user.otp_secret:
        raise ValidationFailed("code", "no two-factor setup is in progress")
    if not await consume_code(session, user, code, secret_key=secret_key):
        raise ValidationFailed(CONFIRM_FIELDS, "is invalid")
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    user.otp_recovery_hashes = [hash_secret(_normalise(c)) for c in codes]
    user.otp_enabled = True
    await session.flush()
    return codes


def disable(user: User) -> None:
    user.otp_enabled = False
    user.otp_secret = None
    user.otp_last_step = None
    user.otp_recovery_hashes = []
