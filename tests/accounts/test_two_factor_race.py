"""One-time codes are single-use under concurrency: eight password grants racing with the
same TOTP code, or the same recovery code, give exactly one token on every engine."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.accounts.support import STRONG_PASSWORD, enrol_two_factor, next_totp
from tests.factories import password_grant, register_oauth_app

RACERS = 8


async def _enrolled(app: Any, client: Any) -> tuple[str, list[str], dict[str, Any]]:
    """(TOTP secret, recovery codes, OAuth app) for tess, who has two-factor on."""
    _token, secret, codes = await enrol_two_factor(app, client)
    return secret, codes, await register_oauth_app(client)


async def _race(client: Any, oauth_app: dict[str, Any], code: str) -> list[int]:
    answers = await asyncio.gather(
        *(
            password_grant(client, oauth_app, "tess@example.com", STRONG_PASSWORD, otp_attempt=code)
            for _ in range(RACERS)
        )
    )
    return sorted(answer.status_code for answer in answers)


async def test_racing_grants_with_one_totp_code_give_one_token(app, client):
    secret, _codes, oauth_app = await _enrolled(app, client)
    code = next_totp(secret)
    assert await _race(client, oauth_app, code) == [200] + [400] * (RACERS - 1)


async def test_racing_grants_with_one_recovery_code_give_one_token(app, client):
    _secret, codes, oauth_app = await _enrolled(app, client)
    assert await _race(client, oauth_app, codes[0]) == [200] + [400] * (RACERS - 1)
    # The other codes still work.
    other = await password_grant(
        client, oauth_app, "tess@example.com", STRONG_PASSWORD, otp_attempt=codes[1]
    )
    assert other.status_code == 200, other.text
