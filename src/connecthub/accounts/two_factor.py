"""Two-factor sign-in with TOTP (pyotp) and single-use recovery codes, stored hashed."""

from __future__ import annotations

import pyotp
from sqlalchemy.ext.asyncio import AsyncSession

from connecthub.accounts.models import User
from connecthub.accounts.tokens import hash_secret


async def consume_code(session: AsyncSession, user: User, code: str) -> bool:
    """True for a current TOTP code or an unused recovery code (which is then spent)."""
    code = code.strip().replace(" ", "")
    if user.otp_secret and pyotp.TOTP(user.otp_secret).verify(code, valid_window=1):
        return True
    hashed = hash_secret(code.lower())
    if hashed in (user.otp_recovery_hashes or []):
        user.otp_recovery_hashes = [h for h in user.otp_recovery_hashes if h != hashed]
        await session.flush()
        return True
    return False
