"""One-time codes are single-use under concurrency: eight password grants racing with the
same TOTP code, or the same recovery code, give exactly one token on every engine."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pyotp

from tests.accounts.support import STRONG_PASSWORD, bearer
from tests.factories import create_token, create_user, password_grant, register_oauth_app

ENROL = "/api/v1/connecthub/two_factor"
RACERS = 8


async def _enrolled(app: Any, client: Any) -> tuple[str, list[str], dict[str, Any]]:
    """(TOTP secret, recovery codes, OAuth app) for tess, who has two-factor on."""
    account, _ = await create_user(app, "tess", password=STRONG_PASSWORD)
    token = await create_token(app, account.id)
    started = await client.post(ENROL, headers=bearer(token))
    secret = started.json()["secret"]
    confirmed = await client.post(
        f"{ENROL}/confirm", data={"code": pyotp.TOTP(secret).now()}, headers=bearer(token)
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recovery_codes"], await register_oauth_app(client)


async def _race(client: Any, oauth_app: dict[str, Any], code: str) -> list[int]:
    answers = await asyncio.gather(
        *(
            password_grant(
                client, oauth_app, "tess@example.com", STRONG_PASSWORD, otp_attempt=code
            )
            for _ in range(RACERS)
        )
    )
    return sorted(answer.status_code for answer in answers)


async def test_racing_grants_with_one_totp_code_give_one_token(app, client):
    secret, _codes, oauth_app = await _enrolled(app, client)
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the next step: now() confirmed
    assert await _race(client, oauth_app, code) == [200] + [400] * (RACERS - 1)


async def test_racing_grants_with_one_recovery_code_give_one_token(app, client):
    _secret, codes, oauth_app = await _enrolled(app, client)
    assert await _race(client, oauth_app, codes[0]) == [200] + [400] * (RACERS - 1)
    # The other codes still work.
    other = await password_grant(
        client, oauth_app, "tess@example.com", STRONG_PASSWORD, otp_attempt=codes[1]
    )
    assert other.status_code == 200, other.text
