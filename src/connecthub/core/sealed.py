"""Secrets kept at rest, sealed with a key derived from SECRET_KEY (HKDF, one key per
purpose; Fernet): a copy of the database alone does not reveal them. Changing SECRET_KEY
makes what was sealed before unreadable (`unseal` answers None)."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


@lru_cache(maxsize=16)
def _cipher(secret_key: str, purpose: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret_key: str, purpose: bytes, plain: str) -> str:
    return _cipher(secret_key, purpose).encrypt(plain.encode()).decode()


def unseal(secret_key: str, purpose: bytes, stored: str | None) -> str | None:
    if not stored:
        return None
    try:
        return _cipher(secret_key, purpose).decrypt(stored.encode()).decode()
    except InvalidToken:
        return None
