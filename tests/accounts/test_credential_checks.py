"""Every endpoint that checks a password or a one-time code counts the attempt against the
account's sign-in throttle (so a stolen token guesses no faster than the sign-in form), and
a wrong password and a wrong code get one and the same answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pyotp
import pytest

from tests.accounts.support import (
    STRONG_PASSWORD,
    TWO_FACTOR,
    bearer,
    enrol_two_factor,
    next_totp,
)
from tests.factories import create_token, create_user, password_grant, register_oauth_app

# Counts up to lockouts in fixed windows (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("clear_of_rate_window_edges")

# The default per-address limit; every other bucket stays generous in tests, so a 429
# below can only come from the per-account (e-mail) sign-in throttle.
SIGN_IN_EMAIL_LIMIT = "25/3600"
GUESSES = 30

Attempt = Callable[[str, str], Awaitable[httpx.Response]]  # (password, code) -> answer


async def _locked_out_within(
    guesses: int, attempt: Callable[[], Awaitable[httpx.Response]]
) -> None:
    statuses = [(await attempt()).status_code for _ in range(guesses)]
    assert 429 in statuses, statuses
    assert set(statuses) <= {400, 422, 429}, statuses


def _same_answer(one: httpx.Response, other: httpx.Response) -> None:
    assert one.status_code == other.status_code
    assert one.json() == other.json()


async def _wrong_password_and_wrong_code_look_alike(attempt: Attempt, secret: str) -> None:
    good_code = next_totp(secret)
    wrong_password = await attempt("not-my-password-1", good_code)
    wrong_code = await attempt(STRONG_PASSWORD, "000000")
    assert wrong_password.status_code in (400, 422)
    _same_answer(wrong_password, wrong_code)
    # A wrong password does not spend the code that came with it.
    assert (await attempt(STRONG_PASSWORD, good_code)).status_code in (200, 202)


async def test_disabling_two_factor(app_factory) -> None:
    async with app_factory(rate_limit_sign_in_email=SIGN_IN_EMAIL_LIMIT) as (app, client):
        token, secret, _codes = await enrol_two_factor(app, client)

        async def attempt(password: str, code: str) -> httpx.Response:
            body = {"password": password, "code": code}
            return await client.request("DELETE", TWO_FACTOR, data=body, headers=bearer(token))

        await _wrong_password_and_wrong_code_look_alike(attempt, secret)

        uma_token, _secret, _codes = await enrol_two_factor(app, client, "uma")

        async def guess() -> httpx.Response:
            body = {"password": "not-my-password-1", "code": "000000"}
            return await client.request("DELETE", TWO_FACTOR, data=body, headers=bearer(uma_token))

        await _locked_out_within(GUESSES, guess)


async def test_confirming_two_factor(app_factory) -> None:
    async with app_factory(rate_limit_sign_in_email=SIGN_IN_EMAIL_LIMIT) as (app, client):
        account, _ = await create_user(app, "vera", password=STRONG_PASSWORD)
        token = await create_token(app, account.id)
        assert (await client.post(TWO_FACTOR, headers=bearer(token))).status_code == 200

        async def guess() -> httpx.Response:
            body = {"password": "not-my-password-1", "code": "000000"}
            return await client.post(f"{TWO_FACTOR}/confirm", data=body, headers=bearer(token))

        await _locked_out_within(GUESSES, guess)


async def test_a_token_alone_cannot_turn_two_factor_on(app: Any, client: httpx.AsyncClient) -> None:
    """A stolen `write:accounts` token must not enrol the thief's authenticator: the owner
    would then be locked out of signing in, and a password reset leaves two-factor on."""
    account, _ = await create_user(app, "wren", password=STRONG_PASSWORD)
    token = await create_token(app, account.id)
    started = await client.post(TWO_FACTOR, headers=bearer(token))
    totp = pyotp.TOTP(started.json()["secret"])

    def confirm(**body: str) -> Awaitable[httpx.Response]:
        return client.post(f"{TWO_FACTOR}/confirm", data=body, headers=bearer(token))

    without = await confirm(code=totp.now())
    assert without.status_code == 422
    assert "password" in without.json()["error"]
    wrong_password = await confirm(code=totp.now(), password="not-my-password-1")
    wrong_code = await confirm(code="000000", password=STRONG_PASSWORD)
    _same_answer(wrong_password, wrong_code)
    assert wrong_password.status_code == 422
    assert (await confirm(code=totp.now(), password=STRONG_PASSWORD)).status_code == 200


async def test_changing_the_password(app_factory) -> None:
    async with app_factory(rate_limit_sign_in_email=SIGN_IN_EMAIL_LIMIT) as (app, client):
        account, _ = await create_user(app, "wanda", password=STRONG_PASSWORD)
        token = await create_token(app, account.id)

        async def guess() -> httpx.Response:
            body = {"current_password": "not-my-password-1", "password": "amber-lantern-47-q"}
            return await client.post(
                "/api/v1/connecthub/password", data=body, headers=bearer(token)
            )

        await _locked_out_within(GUESSES, guess)


async def test_deleting_the_account(app_factory) -> None:
    async with app_factory(rate_limit_sign_in_email=SIGN_IN_EMAIL_LIMIT) as (app, client):
        token, secret, _codes = await enrol_two_factor(app, client)

        async def attempt(password: str, code: str) -> httpx.Response:
            return await client.post(
                "/api/v1/connecthub/account_deletion",
                json={"password": password, "otp_attempt": code},
                headers=bearer(token),
            )

        await _wrong_password_and_wrong_code_look_alike(attempt, secret)


async def test_deleting_the_account_is_throttled(app_factory) -> None:
    async with app_factory(rate_limit_sign_in_email=SIGN_IN_EMAIL_LIMIT) as (app, client):
        account, _ = await create_user(app, "xia", password=STRONG_PASSWORD)
        token = await create_token(app, account.id)

        async def guess() -> httpx.Response:
            return await client.post(
                "/api/v1/connecthub/account_deletion",
                json={"password": "not-my-password-1"},
                headers=bearer(token),
            )

        await _locked_out_within(GUESSES, guess)


@pytest.mark.slow
async def test_the_oauth_password_grant(app_factory) -> None:
    async with app_factory(rate_limit_sign_in_email=SIGN_IN_EMAIL_LIMIT) as (app, client):
        _token, secret, _codes = await enrol_two_factor(app, client)
        oauth_app = await register_oauth_app(client)

        async def attempt(password: str, code: str) -> httpx.Response:
            return await password_grant(
                client, oauth_app, "tess@example.com", password, otp_attempt=code
            )

        await _wrong_password_and_wrong_code_look_alike(attempt, secret)

        async def guess() -> httpx.Response:
            return await attempt("not-my-password-1", "000000")

        await _locked_out_within(GUESSES, guess)
