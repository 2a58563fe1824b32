"""Argon2id password hashing (RFC 9106 parameters or stronger), rehashed on sign-in when the
parameters change."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from connecthub.config import Settings

# 19 MiB, 2 iterations, 1 lane: OWASP's minimum for Argon2id; raise here, never lower.
_STANDARD = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Argon2's floor (8 KiB, 1 iteration), for FAST_PASSWORD_HASHING_FOR_TESTS only: config.py
# refuses that setting outside ENVIRONMENT=test.
_TESTS_ONLY = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
_TIMING_EQUALISER = "connecthub-timing-equaliser"

_hasher = _STANDARD
# Verifying against this keeps "no such user" as slow as "wrong password".
_DUMMY_HASH = _hasher.hash(_TIMING_EQUALISER)


def configure(settings: Settings) -> None:
    """Pick the hasher for this process (the app and the CLI call it at start)."""
    global _hasher, _DUMMY_HASH
    chosen = _TESTS_ONLY if settings.fast_password_hashing_for_tests else _STANDARD
    if chosen is not _hasher:
        _hasher = chosen
        _DUMMY_HASH = chosen.hash(_TIMING_EQUALISER)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(_verify, stored_hash, password)


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
