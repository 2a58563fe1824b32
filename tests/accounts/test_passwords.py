"""Passwords: Argon2id parameters read from the stored hash, rehash on sign-in, change
(revokes every other token and browser session) and reset by e-mail (single use, and the
answer never reveals whether an address exists)."""

from __future__ import annotations

import re

from argon2 import PasswordHasher

from tests.accounts.support import (
    STRONG_PASSWORD,
    api_sign_up,
    bearer,
    csrf,
    execute,
    hidden_fields,
    link_in,
    outbox,
    user_and_account,
    web_sign_in,
)
from tests.factories import create_token, create_user

NEW_PASSWORD = "amber-lantern-quietly-47"


def argon2_parameters(stored: str) -> dict[str, int | str]:
    match = re.fullmatch(r"\$(argon2id)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+", stored)
    assert match, stored
    kind, version, memory, iterations, lanes = match.groups()
    return {
        "kind": kind,
        "v": int(version),
        "m": int(memory),
        "t": int(iterations),
        "p": int(lanes),
    }


# Other tests hash at Argon2's floor (FAST_PASSWORD_HASHING_FOR_TESTS, tests/engines.py);
# these check the cost every real deployment gets.
FULL_COST = {"fast_password_hashing_for_tests": False}


async def test_passwords_are_stored_as_argon2id_with_owasp_parameters(app_factory):
    async with app_factory(**FULL_COST) as (app, client):
        assert (await api_sign_up(app, client, "alice")).status_code == 200
        user, _ = await user_and_account(app, "alice")  # type: ignore[misc]
    params = argon2_parameters(user.password_hash)
    assert params["kind"] == "argon2id"
    assert params["v"] == 19
    assert params["m"] >= 19456
    assert params["t"] >= 2
    assert params["p"] >= 1
    assert STRONG_PASSWORD not in user.password_hash


async def test_an_outdated_hash_is_replaced_at_sign_in(app_factory):
    async with app_factory(**FULL_COST) as (app, client):
        await create_user(app, "weak", password=STRONG_PASSWORD)
        weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
        old_hash = weak.hash(STRONG_PASSWORD)
        await execute(app, "UPDATE users SET password_hash = :h", h=old_hash)

        assert (await web_sign_in(client, "weak@example.com")).status_code == 303
        user, _ = await user_and_account(app, "weak")  # type: ignore[misc]
    assert user.password_hash != old_hash
    assert argon2_parameters(user.password_hash)["m"] >= 19456


async def test_the_test_suite_hashes_at_the_floor_it_asked_for(app, client):
    """The fast setting really is in force elsewhere (else this suite pays full cost)."""
    await create_user(app, "quick", password=STRONG_PASSWORD)
    user, _ = await user_and_account(app, "quick")  # type: ignore[misc]
    assert argon2_parameters(user.password_hash)["m"] == 8
    assert (await web_sign_in(client, "quick@example.com")).status_code == 303


async def test_password_change_revokes_other_tokens_and_sessions_but_not_the_current(app, client):
    account, _ = await create_user(app, "carol", password=STRONG_PASSWORD)
    current = await create_token(app, account.id)
    other = await create_token(app, account.id)
    assert (
        await client.get("/api/v1/accounts/verify_credentials", headers=bearer(other))
    ).status_code == 200
    assert (await web_sign_in(client, "carol@example.com")).status_code == 303

    wrong = await client.post(
        "/api/v1/connecthub/password",
        data={"current_password": "not-my-password", "password": NEW_PASSWORD},
        headers=bearer(current),
    )
    assert wrong.status_code == 422
    assert "current_password" in wrong.json()["error"]
    weak = await client.post(
        "/api/v1/connecthub/password",
        data={"current_password": STRONG_PASSWORD, "password": "password1234"},
        headers=bearer(current),
    )
    assert weak.status_code == 422
    assert "password" in weak.json()["error"]
    repetitive = await client.post(
        "/api/v1/connecthub/password",
        data={"current_password": STRONG_PASSWORD, "password": "aaaaaaaa"},
        headers=bearer(current),
    )
    assert repetitive.status_code == 422
    assert "password: is too easy to guess" in repetitive.json()["error"]

    changed = await client.post(
        "/api/v1/connecthub/password",
        data={"current_password": STRONG_PASSWORD, "password": NEW_PASSWORD},
        headers=bearer(current),
    )
    assert changed.status_code == 200, changed.text

    me = "/api/v1/accounts/verify_credentials"
    assert (await client.get(me, headers=bearer(other))).status_code == 401
    assert (await client.get(me, headers=bearer(current))).status_code == 200
    page = await client.get("/auth/sign_in")
    assert "Signed in as" not in page.text  # the browser session ended too
    assert (await web_sign_in(client, "carol@example.com")).status_code == 401
    assert (await web_sign_in(client, "carol@example.com", NEW_PASSWORD)).status_code == 303


async def _request_reset(client, address: str):
    token = await csrf(client, "/auth/password/new")
    return await client.post("/auth/password", data={"authenticity_token": token, "email": address})


async def test_reset_answers_the_same_whether_or_not_the_address_exists(app, client, test_env):
    await create_user(app, "dora", password=STRONG_PASSWORD)
    known = await _request_reset(client, "dora@example.com")
    unknown = await _request_reset(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text

    api_known = await client.post(
        "/api/v1/connecthub/password_reset", data={"email": "dora@example.com"}
    )
    api_unknown = await client.post(
        "/api/v1/connecthub/password_reset", data={"email": "x@example.com"}
    )
    assert api_known.status_code == api_unknown.status_code == 202
    assert api_known.json() == api_unknown.json()

    mails = outbox(test_env.workdir / "outbox")
    assert [m["To"] for m in mails] == ["dora@example.com", "dora@example.com"]


async def test_reset_link_sets_a_new_password_once_and_ends_other_sign_ins(app, client, test_env):
    account, _ = await create_user(app, "emma", password=STRONG_PASSWORD)
    token = await create_token(app, account.id)
    assert (await _request_reset(client, "EMMA@example.com")).status_code == 200
    (mail,) = outbox(test_env.workdir / "outbox")
    assert mail["To"] == "emma@example.com"
    link = link_in(mail, "/auth/password/edit")

    form = await client.get(link)
    assert form.status_code == 200
    fields = hidden_fields(form.text)
    mismatch = await client.post(
        "/auth/password/edit",
        data={**fields, "password": NEW_PASSWORD, "password_confirmation": "something-else-1"},
    )
    assert mismatch.status_code == 422
    weak = await client.post(
        "/auth/password/edit",
        data={**fields, "password": "password1234", "password_confirmation": "password1234"},
    )
    assert weak.status_code == 422

    done = await client.post(
        "/auth/password/edit",
        data={**fields, "password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD},
    )
    assert done.status_code == 200, done.text
    assert "Password changed" in done.text

    again = await client.post(
        "/auth/password/edit",
        data={
            **fields,
            "password": "another-fine-phrase-9",
            "password_confirmation": "another-fine-phrase-9",
        },
    )
    assert again.status_code == 422
    assert (await client.get(link)).status_code == 422

    me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert me.status_code == 401
    assert (await web_sign_in(client, "emma@example.com", NEW_PASSWORD)).status_code == 303


async def test_a_forged_reset_token_is_refused(client):
    assert (await client.get("/auth/password/edit?reset_password_token=forged")).status_code == 422
