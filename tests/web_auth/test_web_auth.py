"""The server-rendered sign-up, sign-in and sign-out pages, driven as a browser without
JavaScript would: plain form posts carrying the hidden CSRF field. Also the brute-force
lockout, identical whether or not the account exists."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from connecthub.accounts.models import WebSession
from connecthub.oauth.tokens import hash_secret
from tests.accounts.support import (
    STRONG_PASSWORD,
    alert_text,
    count_rows,
    csrf,
    field_error,
    hidden_fields,
    outbox,
    user_and_account,
    web_sign_in,
    years_ago,
)
from tests.factories import create_user


def _sign_up_form(token: str, **overrides: str) -> dict[str, str]:
    form = {
        "authenticity_token": token,
        "username": "wendy",
        "email": "wendy@example.com",
        "password": STRONG_PASSWORD,
        "password_confirmation": STRONG_PASSWORD,
        "date_of_birth": years_ago(20),
        "agreement": "1",
    }
    form.update(overrides)
    return form


async def _sessions(app) -> list[WebSession]:
    async with app.state.engines.db.session() as session:
        return list((await session.execute(select(WebSession))).scalars().all())


async def test_sign_up_page_works_without_javascript(app, client):
    page = await client.get("/auth/sign_up")
    assert page.status_code == 200
    assert "<script" not in page.text
    assert page.headers["cache-control"] == "no-store"
    token = hidden_fields(page.text)["authenticity_token"]
    assert 'name="date_of_birth"' in page.text

    response = await client.post("/auth/sign_up", data=_sign_up_form(token))
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    assert "connecthub_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie

    home = await client.get("/auth/sign_in")
    assert "Signed in as <strong>@wendy</strong>" in home.text
    found = await user_and_account(app, "wendy")
    assert found is not None
    async with app.state.engines.db.session() as session:
        from connecthub.privacy.models import Consent

        consent = (await session.execute(select(Consent))).scalar_one()
    assert consent.method == "web"


async def test_sign_up_with_a_taken_email_answers_as_a_fresh_one(app, client, test_env):
    await create_user(app, "wendy_old", email="wendy@example.com", password=STRONG_PASSWORD)
    token = await csrf(client, "/auth/sign_up")
    response = await client.post("/auth/sign_up", data=_sign_up_form(token))
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/auth/sign_in"
    assert "connecthub_session" not in client.cookies  # nobody is signed in
    assert await user_and_account(app, "wendy") is None
    (notice,) = outbox(test_env.workdir / "outbox")
    assert notice["To"] == "wendy@example.com"


async def test_sign_up_errors_are_shown_next_to_their_fields(app, client):
    token = await csrf(client, "/auth/sign_up")
    cases = [
        ({"password": "password1234", "password_confirmation": "password1234"}, "password"),
        ({"password_confirmation": "not-the-same-one"}, "password_confirmation"),
        ({"date_of_birth": years_ago(15)}, "date_of_birth"),
        ({"agreement": ""}, "agreement"),
        ({"username": "support"}, "username"),
    ]
    for overrides, field in cases:
        response = await client.post("/auth/sign_up", data=_sign_up_form(token, **overrides))
        assert response.status_code == 422, field
        assert field_error(response.text, field), (field, response.text)
        # What was typed is kept, except passwords.
        assert 'value="wendy@example.com"' in response.text
        assert STRONG_PASSWORD not in response.text
    assert await count_rows(app, "users") == 0


async def test_forms_without_the_csrf_token_are_refused(app, client):
    await create_user(app, "xena", password=STRONG_PASSWORD)
    await client.get("/auth/sign_in")  # the browser has a CSRF cookie, the attacker no token
    for path, data in (
        ("/auth/sign_up", _sign_up_form("")),
        ("/auth/sign_in", {"email": "xena@example.com", "password": STRONG_PASSWORD}),
        ("/auth/sign_in", {"authenticity_token": "guess" * 8, "email": "xena@example.com",
                           "password": STRONG_PASSWORD}),
        ("/auth/password", {"email": "xena@example.com"}),
    ):  # fmt: skip
        response = await client.post(path, data=data)
        assert response.status_code == 403, path
    assert await _sessions(app) == []


async def test_sign_in_and_sign_out_with_a_server_side_session(app, client):
    await create_user(app, "yara", password=STRONG_PASSWORD)
    wrong = await web_sign_in(client, "yara@example.com", "not-the-password")
    assert wrong.status_code == 401
    assert alert_text(wrong.text) == "Invalid e-mail address or password"

    response = await client.post(
        "/auth/sign_in",
        data={
            "authenticity_token": await csrf(client, "/auth/sign_in?next=/oauth/authorize?x=1"),
            "email": "YARA@example.com",
            "password": STRONG_PASSWORD,
            "next": "/oauth/authorize?x=1",
        },
        headers={"User-Agent": "TestBrowser/1.0"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/oauth/authorize?x=1"
    secret = client.cookies["connecthub_session"]
    (row,) = await _sessions(app)
    assert row.secret_hash == hash_secret(secret)
    assert row.user_agent == "TestBrowser/1.0"
    assert row.ip == "127.0.0.1"
    assert row.revoked_at is None

    token = await csrf(client, "/auth/sign_in")
    out = await client.post("/auth/sign_out", data={"authenticity_token": token})
    assert out.status_code == 303
    assert "connecthub_session" not in client.cookies
    (row,) = await _sessions(app)
    assert row.revoked_at is not None

    client.cookies.set("connecthub_session", secret)  # a copied cookie no longer works
    assert "Signed in as" not in (await client.get("/auth/sign_in")).text


async def test_sign_in_never_redirects_off_site(app, client):
    await create_user(app, "zoe", password=STRONG_PASSWORD)
    token = await csrf(client, "/auth/sign_in")
    response = await client.post(
        "/auth/sign_in",
        data={"authenticity_token": token, "email": "zoe@example.com",
              "password": STRONG_PASSWORD, "next": "//evil.example/"},
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/sign_in"


async def test_cookies_are_secure_behind_tls(app_factory):
    async with app_factory(behind_tls=True) as (app, _client):
        await create_user(app, "tls", password=STRONG_PASSWORD)
        # As a browser sees it through the TLS-terminating proxy: Secure cookies come back.
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            page = await client.get("/auth/sign_in")
            assert "Secure" in page.headers["set-cookie"]  # the CSRF cookie
            response = await web_sign_in(client, "tls@example.com")
            assert response.status_code == 303
            assert "Secure" in response.headers["set-cookie"]


@pytest.mark.usefixtures("clear_of_rate_window_edges")
async def test_brute_force_lockout_answers_the_same_for_existing_and_unknown_accounts(
    app_factory,
):
    async with app_factory(rate_limit_sign_in_email="3/3600") as (app, client):
        await create_user(app, "olga", password=STRONG_PASSWORD)
        answers = {}
        for address in ("olga@example.com", "nobody@example.com"):
            for _ in range(3):
                failed = await web_sign_in(client, address, "wrong-password-1")
                assert failed.status_code == 401
            locked = await web_sign_in(client, address, "wrong-password-1")
            assert locked.status_code == 429
            assert int(locked.headers["retry-after"]) > 0
            answers[address] = (locked.status_code, alert_text(locked.text))
        assert answers["olga@example.com"] == answers["nobody@example.com"]

        # Even the right password is refused while locked out.
        still = await web_sign_in(client, "olga@example.com")
        assert still.status_code == 429
        assert "connecthub_session" not in client.cookies
