"""Sign-up through `POST /api/v1/accounts`: the Token it returns, the consent it records,
every refusal (with nothing stored), registration modes and e-mail confirmation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connecthub.accounts import signup_hooks
from connecthub.privacy.models import Consent
from connecthub.privacy.service import record_terms_consent
from tests.accounts.support import (
    api_sign_up,
    bearer,
    body_of,
    count_rows,
    link_in,
    outbox,
    sign_up_fields,
    smtp_sink,
    user_and_account,
    web_sign_in,
    years_ago,
)
from tests.cli_runner import run_cli
from tests.factories import create_token, create_user


async def test_sign_up_returns_a_token_for_the_new_user_and_records_consent(app, client):
    response = await api_sign_up(app, client, "Bob")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "follow read write"
    assert isinstance(body["created_at"], int)

    me = await client.get(
        "/api/v1/accounts/verify_credentials", headers=bearer(body["access_token"])
    )
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "Bob"

    found = await user_and_account(app, "bob")
    assert found is not None
    user, _account = found
    assert user.confirmed_at is not None  # no SMTP: confirmed at sign-up
    assert user.approved
    assert user.age_verified_on is not None
    async with app.state.engines.db.session() as session:
        consents = (await session.execute(select(Consent))).scalars().all()
    assert [(c.purpose, c.policy_version, c.method) for c in consents] == [
        ("terms", app.state.settings.terms_version, "api")
    ]
    assert consents[0].account_id == user.account_id
    assert consents[0].granted_at is not None


async def test_sign_up_without_the_consent_hook_fails_loudly_and_stores_nothing(app, client):
    """The consent record is privacy's, reached through a hook the app registers: were it
    missing, the sign-up is refused (an error: a 500 to the client) rather than stored
    without its consent."""
    signup_hooks.remove(signup_hooks.CONSENT)
    try:
        response = await api_sign_up(app, client, "Bob")
    finally:
        signup_hooks.on_sign_up(signup_hooks.CONSENT, record_terms_consent)
    assert response.status_code == 500, response.text
    for table in ("users", "accounts", "consents", "oauth_tokens WHERE account_id IS NOT NULL"):
        assert await count_rows(app, table) == 0, table


async def test_sign_up_accepts_json(app, client):
    from tests.factories import create_app_token

    token = await create_app_token(app)
    fields = sign_up_fields("jsonuser", agreement=True)
    response = await client.post("/api/v1/accounts", json=fields, headers=bearer(token))
    assert response.status_code == 200, response.text


async def test_a_fifteen_year_old_is_refused_and_nothing_is_stored(app, client):
    response = await api_sign_up(app, client, "young", date_of_birth=years_ago(15))
    assert response.status_code == 422
    body = response.json()
    assert "date_of_birth" in body["error"]
    assert body["details"]["date_of_birth"][0]["error"] == "ERR_BELOW_LIMIT"
    for table in ("users", "accounts", "consents", "oauth_tokens WHERE account_id IS NOT NULL"):
        assert await count_rows(app, table) == 0, table


async def test_date_of_birth_is_required_when_there_is_a_minimum_age(app, client):
    response = await api_sign_up(app, client, "nodate", date_of_birth=None)
    assert response.status_code == 422
    assert "date_of_birth" in response.json()["error"]


async def test_no_age_gate_when_the_minimum_age_is_zero(app_factory):
    async with app_factory(min_signup_age=0) as (app, client):
        response = await api_sign_up(app, client, "nodate", date_of_birth=None)
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "admin"}, "username"),
        ({"username": "Root"}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "x" * 31}, "username"),
        ({"email": "not-an-address"}, "email"),
        ({"password": "password1234"}, "password"),
        ({"password": "Qwerty123!"}, "password"),
        ({"password": "short"}, "password"),
        ({"password": "x" * 257}, "password"),
        ({"password": "carol@example.com"}, "password"),
        ({"password": "aaaaaaaa"}, "password"),
        ({"password": "abcabcabc"}, "password"),
        ({"password": "zxcvbnm123"}, "password"),
        ({"password": "iloveyou2024"}, "password"),
        ({"agreement": "false"}, "agreement"),
        ({"agreement": None}, "agreement"),
        ({"date_of_birth": "31/12/1990"}, "date_of_birth"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
    ],
)
async def test_refusals_name_the_field_and_store_nothing(app, client, overrides, field):
    fields = {"username": "carol", **overrides}
    username = fields.pop("username")
    response = await api_sign_up(app, client, username, **fields)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]
    assert await count_rows(app, "users") == 0
    assert await count_rows(app, "accounts") == 0


async def test_a_guessable_password_is_refused_with_a_reason(app, client):
    response = await api_sign_up(app, client, "carol", password="aaaaaaaa")
    assert response.status_code == 422
    detail = response.json()["details"]["password"][0]
    assert "too easy to guess" in detail["description"]
    assert "repeat" in detail["description"].lower()  # zxcvbn's hint says why


async def test_a_long_strong_password_is_accepted(app, client):
    # Only the start of a long password is scored: the estimator is slow on long input.
    long_password = "violet-kettle-orbit-91 " * 11  # 253 characters
    response = await api_sign_up(app, client, "lena", password=long_password)
    assert response.status_code == 200, response.text


async def test_usernames_are_unique_ignoring_case(app, client):
    assert (await api_sign_up(app, client, "Dave")).status_code == 200
    again = await api_sign_up(app, client, "dave", email="other@example.com")
    assert again.status_code == 422
    assert again.json()["details"]["username"][0]["error"] == "ERR_TAKEN"
    assert await count_rows(app, "users") == 1


async def test_a_taken_email_answers_as_a_fresh_sign_up_and_mails_its_owner(app, client, test_env):
    fresh = await api_sign_up(app, client, "Dave")
    assert fresh.status_code == 200, fresh.text
    before, _ = await user_and_account(app, "dave")  # type: ignore[misc]

    again = await api_sign_up(
        app, client, "dave2", email="DAVE@example.com", password="another-fine-phrase-9"
    )
    assert again.status_code == fresh.status_code
    assert {k: type(v) for k, v in again.json().items()} == {
        k: type(v) for k, v in fresh.json().items()
    }
    assert again.json()["scope"] == fresh.json()["scope"]
    assert again.json()["token_type"] == "Bearer"
    assert len(again.json()["access_token"]) == len(fresh.json()["access_token"])

    # Nothing changed: one account, the same password, no new sign-in for anyone.
    assert await count_rows(app, "users") == 1
    assert await user_and_account(app, "dave2") is None
    after, _ = await user_and_account(app, "dave")  # type: ignore[misc]
    assert after.password_hash == before.password_hash
    assert after.email == before.email
    assert await count_rows(app, "oauth_tokens WHERE account_id IS NOT NULL") == 1
    unusable = await client.get(
        "/api/v1/accounts/verify_credentials", headers=bearer(again.json()["access_token"])
    )
    assert unusable.status_code == 401

    (notice,) = outbox(test_env.workdir / "outbox")
    assert notice["To"] == "dave@example.com"
    text = body_of(notice)
    assert "@Dave" in text
    assert "/auth/password/new" in text


async def test_revealing_taken_emails_keeps_mastodons_answer(app_factory, test_env):
    async with app_factory(reveal_taken_emails=True) as (app, client):
        assert (await api_sign_up(app, client, "Dave")).status_code == 200
        same_mail = await api_sign_up(app, client, "dave2", email="DAVE@example.com")
        assert same_mail.status_code == 422
        assert same_mail.json()["details"]["email"][0]["error"] == "ERR_TAKEN"
        assert await count_rows(app, "users") == 1
        assert outbox(test_env.workdir / "outbox") == []


async def test_an_app_token_is_required(app, client):
    anonymous = await client.post("/api/v1/accounts", data=sign_up_fields("erin"))
    assert anonymous.status_code == 401
    account, _ = await create_user(app, "frank")
    user_token = await create_token(app, account.id, scopes=frozenset({"write:accounts"}))
    as_user = await client.post(
        "/api/v1/accounts", data=sign_up_fields("erin"), headers=bearer(user_token)
    )
    assert as_user.status_code == 403
    read_only = await create_token(app, None, scopes=frozenset({"read"}))
    no_scope = await client.post(
        "/api/v1/accounts", data=sign_up_fields("erin"), headers=bearer(read_only)
    )
    assert no_scope.status_code == 403
    assert await user_and_account(app, "erin") is None


async def test_closed_registrations_are_refused(app_factory):
    async with app_factory(registration_mode="closed") as (app, client):
        response = await api_sign_up(app, client, "gina")
        assert response.status_code == 403
        assert response.json()["error"] == "Registrations are closed"
        page = await client.get("/auth/sign_up")
        assert page.status_code == 403
        assert "Registrations are closed" in page.text
        assert await count_rows(app, "users") == 0


async def test_approval_mode_keeps_the_account_pending_until_a_moderator_approves(
    app_factory, test_env
):
    async with app_factory(registration_mode="approval") as (app, client):
        response = await api_sign_up(app, client, "hank", reason="I like kites")
        assert response.status_code == 200, response.text
        user, _ = await user_and_account(app, "hank")  # type: ignore[misc]
        assert not user.approved
        assert user.sign_up_reason == "I like kites"
        pending_token = response.json()["access_token"]
        blocked = await client.get(
            "/api/v1/accounts/verify_credentials", headers=bearer(pending_token)
        )
        assert blocked.status_code == 403
        assert "pending approval" in blocked.json()["error"]

        refused = await web_sign_in(client, "hank@example.com")
        assert refused.status_code == 403
        assert "pending review" in refused.text

        approve = run_cli(test_env.environ(), "admin", "approve", "hank")
        assert approve.returncode == 0, approve.stderr
        assert "approved" in approve.stdout

        signed_in = await web_sign_in(client, "hank@example.com")
        assert signed_in.status_code == 303, signed_in.text
        # The same token works once approved: pending tokens are never cached.
        allowed = await client.get(
            "/api/v1/accounts/verify_credentials", headers=bearer(pending_token)
        )
        assert allowed.status_code == 200, allowed.text


async def test_approving_an_unknown_user_fails_clearly(test_env):
    result = run_cli(test_env.environ(), "admin", "approve", "nobody")
    assert result.returncode == 2
    assert "nobody" in result.stderr


async def test_with_smtp_the_address_is_confirmed_through_a_mailed_link(app_factory):
    async with (
        smtp_sink() as sink,
        app_factory(smtp_url=f"smtp://127.0.0.1:{sink.port}") as (app, client),
    ):
        response = await api_sign_up(app, client, "ivy")
        assert response.status_code == 200, response.text
        user, _ = await user_and_account(app, "ivy")  # type: ignore[misc]
        assert user.confirmed_at is None

        assert len(sink.messages) == 1
        mail = sink.messages[0]
        assert mail["To"] == "ivy@example.com"
        link = link_in(mail, "/auth/confirmation")

        refused = await web_sign_in(client, "ivy@example.com")
        assert refused.status_code == 403
        assert "not confirmed" in refused.text

        tampered = await client.get(link[:-3] + "abc")
        assert tampered.status_code == 422

        confirmed = await client.get(link)
        assert confirmed.status_code == 200
        assert "confirmed" in confirmed.text
        user, _ = await user_and_account(app, "ivy")  # type: ignore[misc]
        assert user.confirmed_at is not None
        assert (await web_sign_in(client, "ivy@example.com")).status_code == 303
