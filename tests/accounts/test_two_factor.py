"""Two-factor sign-in: enrolment with an otpauth URI and QR code, confirmation with a code,
the web challenge (TOTP and single-use recovery codes), disabling, and what is stored."""

from __future__ import annotations

import pyotp

from tests.accounts.support import (
    STRONG_PASSWORD,
    TWO_FACTOR,
    all_rows_text,
    bearer,
    csrf,
    enrol_two_factor,
    hidden_fields,
    next_totp,
    user_and_account,
    web_sign_in,
)
from tests.factories import create_token, create_user


async def _challenge(client, email: str) -> dict[str, str]:
    first = await web_sign_in(client, email)
    assert first.status_code == 200, first.text
    assert "Two-factor" in first.text
    fields = hidden_fields(first.text)
    assert fields["challenge"]
    return fields


async def test_enrolment_gives_an_otpauth_uri_and_qr_code_and_needs_a_confirming_code(app, client):
    account, _ = await create_user(app, "ursula", password=STRONG_PASSWORD)
    token = await create_token(app, account.id)
    started = await client.post(TWO_FACTOR, headers=bearer(token))
    assert started.status_code == 200
    body = started.json()
    assert body["provisioning_uri"].startswith("otpauth://totp/")
    assert f"secret={body['secret']}" in body["provisioning_uri"]
    assert body["qr_code"].startswith("data:image/svg+xml")

    wrong = await client.post(
        f"{TWO_FACTOR}/confirm",
        data={"code": "000000", "password": STRONG_PASSWORD},
        headers=bearer(token),
    )
    assert wrong.status_code == 422
    assert "code" in wrong.json()["error"]
    user, _ = await user_and_account(app, "ursula")  # type: ignore[misc]
    assert not user.otp_enabled

    good = await client.post(
        f"{TWO_FACTOR}/confirm",
        data={"code": pyotp.TOTP(body["secret"]).now(), "password": STRONG_PASSWORD},
        headers=bearer(token),
    )
    assert good.status_code == 200
    codes = good.json()["recovery_codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    again = await client.post(TWO_FACTOR, headers=bearer(token))
    assert again.status_code == 409


async def test_web_sign_in_asks_for_the_second_factor(app, client):
    _token, secret, _codes = await enrol_two_factor(app, client)
    fields = await _challenge(client, "tess@example.com")

    wrong = await client.post("/auth/sign_in", data={**fields, "otp_attempt": "123456"})
    assert wrong.status_code == 401
    assert "invalid" in wrong.text
    assert "connecthub_session" not in wrong.cookies

    good = await client.post("/auth/sign_in", data={**fields, "otp_attempt": next_totp(secret)})
    assert good.status_code == 303, good.text
    assert (await client.get("/auth/sign_in")).text.count("Signed in as") == 1


async def test_a_totp_code_works_only_once(app, client):
    _token, secret, _codes = await enrol_two_factor(app, client)
    code = next_totp(secret)
    fields = await _challenge(client, "tess@example.com")
    assert (
        await client.post("/auth/sign_in", data={**fields, "otp_attempt": code})
    ).status_code == 303
    client.cookies.delete("connecthub_session")
    fields = await _challenge(client, "tess@example.com")
    replay = await client.post("/auth/sign_in", data={**fields, "otp_attempt": code})
    assert replay.status_code == 401


async def test_recovery_codes_work_once_each(app, client):
    _token, _secret, codes = await enrol_two_factor(app, client)
    fields = await _challenge(client, "tess@example.com")
    used = await client.post("/auth/sign_in", data={**fields, "otp_attempt": codes[0].upper()})
    assert used.status_code == 303
    client.cookies.delete("connecthub_session")

    fields = await _challenge(client, "tess@example.com")
    reused = await client.post("/auth/sign_in", data={**fields, "otp_attempt": codes[0]})
    assert reused.status_code == 401
    other = await client.post("/auth/sign_in", data={**fields, "otp_attempt": codes[1]})
    assert other.status_code == 303
    user, _ = await user_and_account(app, "tess")  # type: ignore[misc]
    assert len(user.otp_recovery_hashes) == 8


async def test_a_forged_challenge_is_refused(app, client):
    await enrol_two_factor(app, client)
    token = await csrf(client, "/auth/sign_in")
    response = await client.post(
        "/auth/sign_in",
        data={"authenticity_token": token, "challenge": "forged", "otp_attempt": "123456"},
    )
    assert response.status_code == 401
    assert "expired" in response.text


async def test_disabling_needs_the_password_and_a_code(app, client):
    token, secret, codes = await enrol_two_factor(app, client)
    no_password = await client.request(
        "DELETE",
        TWO_FACTOR,
        data={"password": "wrong-password-x", "code": codes[0]},
        headers=bearer(token),
    )
    assert no_password.status_code == 422
    assert "password" in no_password.json()["error"]
    bad_code = await client.request(
        "DELETE",
        TWO_FACTOR,
        data={"password": STRONG_PASSWORD, "code": "000000"},
        headers=bearer(token),
    )
    assert bad_code.status_code == 422
    disabled = await client.request(
        "DELETE",
        TWO_FACTOR,
        data={"password": STRONG_PASSWORD, "code": next_totp(secret)},
        headers=bearer(token),
    )
    assert disabled.status_code == 200, disabled.text
    assert (await web_sign_in(client, "tess@example.com")).status_code == 303
    user, _ = await user_and_account(app, "tess")  # type: ignore[misc]
    assert not user.otp_enabled
    assert user.otp_secret is None
    assert user.otp_recovery_hashes == []


async def test_storage_holds_no_plaintext_secret_code_password_or_token(app, client):
    token, secret, codes = await enrol_two_factor(app, client)
    fields = await _challenge(client, "tess@example.com")
    assert (
        await client.post("/auth/sign_in", data={**fields, "otp_attempt": codes[0]})
    ).status_code == 303
    session_cookie = client.cookies["connecthub_session"]

    stored = await all_rows_text(
        app, ["users", "accounts", "oauth_tokens", "web_sessions", "consents"]
    )
    user, _ = await user_and_account(app, "tess")  # type: ignore[misc]
    assert user.otp_secret  # encrypted, present
    for plaintext in [secret, secret.lower(), STRONG_PASSWORD, token, session_cookie, *codes]:
        assert plaintext not in stored
    for code in codes:
        assert code.replace("-", "") not in stored


async def test_the_status_says_whether_two_factor_is_enabled(app, client):
    account, _ = await create_user(app, "una", password=STRONG_PASSWORD)
    token = await create_token(app, account.id)
    before = await client.get(TWO_FACTOR, headers=bearer(token))
    assert before.status_code == 200
    assert before.json() == {"enabled": False}
    started = (await client.post(TWO_FACTOR, headers=bearer(token))).json()
    assert (await client.get(TWO_FACTOR, headers=bearer(token))).json() == {"enabled": False}
    confirmed = await client.post(
        f"{TWO_FACTOR}/confirm",
        data={"code": pyotp.TOTP(started["secret"]).now(), "password": STRONG_PASSWORD},
        headers=bearer(token),
    )
    assert confirmed.status_code == 200
    assert (await client.get(TWO_FACTOR, headers=bearer(token))).json() == {"enabled": True}
    write_only = await create_token(app, account.id, scopes=frozenset({"write"}))
    assert (await client.get(TWO_FACTOR, headers=bearer(write_only))).status_code == 403
    assert (await client.get(TWO_FACTOR)).status_code == 401
