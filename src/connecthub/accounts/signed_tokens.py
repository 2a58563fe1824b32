"""Signed, expiring tokens that need no table: e-mail confirmation, password reset and the
pending step between password and second factor on the web sign-in form.

Each kind has its own salt, so one can never be replayed as another. Reset and challenge
tokens embed a fingerprint of the current password hash: once the password changes (which
a reset does) every earlier token for it is dead — that is what makes them single-use.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from connecthub.accounts.models import User

CONFIRMATION_MAX_AGE = 3 * 24 * 3600
RESET_MAX_AGE = 2 * 3600
CHALLENGE_MAX_AGE = 5 * 60


def _serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=f"connecthub.{salt}")


def _password_fingerprint(secret_key: str, user: User) -> str:
    digest = hmac.new(secret_key.encode(), user.password_hash.encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def _load(secret_key: str, salt: str, token: str, max_age: int) -> dict[str, Any] | None:
    try:
        data = _serializer(secret_key, salt).loads(token, max_age=max_age)
    except BadSignature:  # also covers SignatureExpired
        return None
    return data if isinstance(data, dict) else None


def confirmation_token(secret_key: str, user: User) -> str:
    return str(_serializer(secret_key, "confirm").dumps({"u": user.id, "e": user.email_key}))


def read_confirmation(secret_key: str, token: str) -> tuple[int, str] | None:
    """(user id, e-mail key) the token confirms, or None when forged or expired."""
    data = _load(secret_key, "confirm", token, CONFIRMATION_MAX_AGE)
    if data is None or not isinstance(data.get("u"), int):
        return None
    return data["u"], str(data.get("e", ""))


def _bound_token(secret_key: str, salt: str, user: User) -> str:
    payload = {"u": user.id, "f": _password_fingerprint(secret_key, user)}
    return str(_serializer(secret_key, salt).dumps(payload))


def _bound_user_id(secret_key: str, salt: str, token: str, max_age: int) -> int | None:
    data = _load(secret_key, salt, token, max_age)
    if data is None or not isinstance(data.get("u"), int):
        return None
    return int(data["u"])


def _still_bound(secret_key: str, salt: str, token: str, max_age: int, user: User) -> bool:
    data = _load(secret_key, salt, token, max_age)
    return data is not None and hmac.compare_digest(
        str(data.get("f", "")), _password_fingerprint(secret_key, user)
    )


def reset_token(secret_key: str, user: User) -> str:
    return _bound_token(secret_key, "reset", user)


def reset_user_id(secret_key: str, token: str) -> int | None:
    return _bound_user_id(secret_key, "reset", token, RESET_MAX_AGE)


def reset_token_valid(secret_key: str, token: str, user: User) -> bool:
    return _still_bound(secret_key, "reset", token, RESET_MAX_AGE, user)


def challenge_token(secret_key: str, user: User) -> str:
    return _bound_token(secret_key, "challenge", user)


def challenge_user_id(secret_key: str, token: str) -> int | None:
    return _bound_user_id(secret_key, "challenge", token, CHALLENGE_MAX_AGE)


def challenge_token_valid(secret_key: str, token: str, user: User) -> bool:
    return _still_bound(secret_key, "challenge", token, CHALLENGE_MAX_AGE, user)


# The step between a complete sign-in (password and second factor) and the session, when
# new terms must be accepted first (web_auth's sign-in). Its own salt: a two-factor
# challenge can never pass for it, nor it for a challenge.
TERMS_MAX_AGE = 30 * 60


def terms_token(secret_key: str, user: User) -> str:
    return _bound_token(secret_key, "terms", user)


def terms_user_id(secret_key: str, token: str) -> int | None:
    return _bound_user_id(secret_key, "terms", token, TERMS_MAX_AGE)


def terms_token_valid(secret_key: str, token: str, user: User) -> bool:
    return _still_bound(secret_key, "terms", token, TERMS_MAX_AGE, user)
