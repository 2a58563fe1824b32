"""Sign-in with OpenID Connect, against a real provider process the tests start
(tests/support/oidc_provider.py). httpx plays the browser: one client speaks to the app,
another to the provider, and the redirects between them are followed by hand."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from connecthub.accounts import two_factor
from connecthub.accounts.models import Account, User, WebSession
from connecthub.clock import utcnow
from connecthub.config import load_settings
from connecthub.http import forms
from connecthub.infra import tls
from connecthub.infra.rate_limiters import RedisRateLimiter
from connecthub.infra.redis import KeySpace, connect_redis
from connecthub.oauth.tokens import hash_secret
from connecthub.oidc.models import Identity
from connecthub.oidc.relying_party import provider_links
from connecthub.privacy.models import Consent, LegalDocument
from connecthub.web_auth.sessions import SESSION_COOKIE
from tests.conftest import free_port, stop_process
from tests.factories import DEFAULT_PASSWORD, create_user
from tests.support import probe
from tests.support.redis_server import RedisProcess

CLIENT_ID = "connecthub-test-client"
CLIENT_SECRET = "test-client-secret-0123456789"
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningProvider:
    url: str

    async def next_login(self, **claims: Any) -> None:
        claims.setdefault("mode", "ok")
        async with httpx.AsyncClient(verify=probe.ssl_context()) as client:
            response = await client.post(f"{self.url}/test/next-login", json=claims)
            response.raise_for_status()


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[RunningProvider]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.oidc_provider",
            "--port",
            str(port),
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
        ],
        cwd=REPO_ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError("the test OIDC provider exited early")
            try:
                if probe.get(f"{url}/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the test OIDC provider did not start")
            time.sleep(0.1)
        yield RunningProvider(url)
    finally:
        stop_process(process)


def provider_settings(provider: RunningProvider) -> dict[str, Any]:
    return {
        "local_domain": "testserver",
        "oidc_providers": [
            {
                "name": "testid",
                "label": "Test ID",
                "issuer": provider.url,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            }
        ],
    }


@pytest.fixture
async def site(
    app_factory: Any, oidc_provider: RunningProvider
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with app_factory(**provider_settings(oidc_provider)) as pair:
        yield pair


async def through_provider(
    client: httpx.AsyncClient, start: str = "/auth/oidc/testid"
) -> httpx.Response:
    """Start at the app, let the provider approve, and land on the app's callback."""
    started = await client.get(start)
    assert started.status_code == 302, started.text
    async with httpx.AsyncClient(verify=probe.ssl_context()) as browser_at_provider:
        approved = await browser_at_provider.get(started.headers["location"])
    assert approved.status_code == 302, approved.text
    callback = approved.headers["location"]
    assert callback.startswith("http://testserver/auth/oidc/testid/callback?")
    return await client.get(callback)


def form_value(page: httpx.Response, name: str) -> str:
    marker = f'name="{name}" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


def years_ago(years: int) -> str:
    today = date.today()
    return date(today.year - years, today.month, min(today.day, 28)).isoformat()


async def rows(app: FastAPI, model: Any) -> list[Any]:
    async with app.state.engines.db.session() as session:
        return list((await session.execute(select(model))).scalars())


async def assert_signed_in(app: FastAPI, response: httpx.Response, user_id: int) -> None:
    """A session cookie whose secret matches a live session row of this user."""
    cookie = response.cookies.get(SESSION_COOKIE)
    assert cookie, response.headers
    sessions = [s for s in await rows(app, WebSession) if s.user_id == user_id]
    assert hash_secret(cookie) in {s.secret_hash for s in sessions}


async def assert_nothing_stored(app: FastAPI) -> None:
    assert await rows(app, Account) == []
    assert await rows(app, Identity) == []
    assert await rows(app, WebSession) == []


async def test_new_person_signs_up_through_the_age_gate(
    site: tuple[FastAPI, httpx.AsyncClient], oidc_provider: RunningProvider
) -> None:
    app, client = site
    await oidc_provider.next_login(
        sub="new-1", email="Newbie@Example.org", email_verified=True, preferred_username="new.bie"
    )
    page = await through_provider(client)
    assert page.status_code == 200
    assert "Join with Test ID" in page.text
    assert "Newbie@Example.org" in page.text
    assert form_value(page, "username") == "new_bie"
    token = form_value(page, "authenticity_token")

    under_age = await client.post(
        "/auth/oidc/testid/sign-up",
        data={
            "authenticity_token": token,
            "username": "new_bie",
            "date_of_birth": years_ago(15),
            "agreement": "1",
        },
    )
    assert under_age.status_code == 422
    assert "date_of_birth: is below the minimum age of 16" in under_age.text
    await assert_nothing_stored(app)

    no_agreement = await client.post(
        "/auth/oidc/testid/sign-up",
        data={"authenticity_token": token, "username": "new_bie", "date_of_birth": years_ago(30)},
    )
    assert no_agreement.status_code == 422
    assert "agreement: must be accepted" in no_agreement.text
    await assert_nothing_stored(app)

    created = await client.post(
        "/auth/oidc/testid/sign-up",
        data={
            "authenticity_token": token,
            "username": "new_bie",
            "date_of_birth": years_ago(30),
            "agreement": "1",
        },
    )
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/"
    [account] = await rows(app, Account)
    [user] = await rows(app, User)
    [identity] = await rows(app, Identity)
    assert account.username == "new_bie"
    assert user.email == "Newbie@Example.org"
    assert user.confirmed_at is not None
    assert (identity.provider, identity.subject, identity.user_id) == ("testid", "new-1", user.id)
    [consent] = await rows(app, Consent)
    assert (consent.account_id, consent.method) == (account.id, "oidc")
    await assert_signed_in(app, created, user.id)


@pytest.mark.slow
async def test_returning_person_is_signed_in_at_once(
    site: tuple[FastAPI, httpx.AsyncClient], oidc_provider: RunningProvider
) -> None:
    app, client = site
    await oidc_provider.next_login(sub="back-1", email="back@example.org", email_verified=True)
    page = await through_provider(client)
    await client.post(
        "/auth/oidc/testid/sign-up",
        data={
            "authenticity_token": form_value(page, "authenticity_token"),
            "username": "back",
            "date_of_birth": years_ago(40),
            "agreement": "on",
        },
    )
    [user] = await rows(app, User)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50001)),
        base_url="http://testserver",
    ) as other_browser:
        again = await through_provider(other_browser, "/auth/oidc/testid?return_to=/settings")
    assert again.status_code == 303
    assert again.headers["location"] == "/settings"
    await assert_signed_in(app, again, user.id)
    assert len(await rows(app, Identity)) == 1


async def test_a_sign_in_loads_no_certificate_bundle(
    site: tuple[FastAPI, httpx.AsyncClient],
    oidc_provider: RunningProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every client the relying party makes (discovery, keys, the token exchange) shares the
    process's TLS context: building one loads the CA bundle, ~27 CPU-ms a sign-in."""
    _app, client = site
    await oidc_provider.next_login(sub="tls-1", email="tls@example.org", email_verified=True)
    tls.client_context(trust_env=True)  # the one shared context, built before counting
    loads: list[object] = []
    real = ssl.SSLContext.load_verify_locations

    def counted(context: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args or kwargs)
        real(context, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    started = await client.get("/auth/oidc/testid")
    # The provider's browser (the test's client) has that same context: it loads none.
    async with httpx.AsyncClient(verify=probe.ssl_context()) as browser_at_provider:
        approved = await browser_at_provider.get(started.headers["location"])
    page = await client.get(approved.headers["location"])
    assert page.status_code == 200, page.text  # the sign-up form: the token was exchanged
    assert 'name="username"' in page.text
    assert loads == []


@pytest.mark.slow
async def test_new_terms_are_accepted_before_the_session(
    site: tuple[FastAPI, httpx.AsyncClient], oidc_provider: RunningProvider
) -> None:
    app, client = site
    await oidc_provider.next_login(sub="terms-1", email="terms@example.org", email_verified=True)
    page = await through_provider(client)
    await client.post(
        "/auth/oidc/testid/sign-up",
        data={
            "authenticity_token": form_value(page, "authenticity_token"),
            "username": "terms",
            "date_of_birth": years_ago(40),
            "agreement": "on",
        },
    )
    [user] = await rows(app, User)
    today = utcnow().date()
    async with app.state.engines.db.transaction() as session:
        session.add(
            LegalDocument(
                kind="terms_of_service", text="New *terms*.", effective_date=today,
                published_at=utcnow(),
            )
        )  # fmt: skip
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50001)),
        base_url="http://testserver",
    ) as other_browser:
        asked = await through_provider(other_browser, "/auth/oidc/testid?return_to=/settings")
        assert asked.status_code == 200
        assert "<em>terms</em>" in asked.text
        assert not asked.cookies.get(SESSION_COOKIE)
        accepted = await other_browser.post(
            "/auth/terms",
            data={
                name: form_value(asked, name)
                for name in ("authenticity_token", "challenge", "version", "next")
            },
        )
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/settings"
    await assert_signed_in(app, accepted, user.id)
    versions = sorted(c.policy_version for c in await rows(app, Consent))
    assert versions == sorted([app.state.settings.terms_version, today.isoformat()])


@pytest.mark.slow
async def test_verified_email_links_only_with_the_accounts_password(
    site: tuple[FastAPI, httpx.AsyncClient], oidc_provider: RunningProvider
) -> None:
    app, client = site
    _, alice = await create_user(app, "alice", email="alice@example.com")
    await oidc_provider.next_login(
        sub="alice-at-idp", email="ALICE@example.com", email_verified=True
    )
    page = await through_provider(client)
    assert page.status_code == 200
    assert "Link your Test ID identity to @alice?" in page.text
    assert await rows(app, Identity) == []  # never linked silently
    token = form_value(page, "authenticity_token")

    wrong = await client.post(
        "/auth/oidc/testid/link", data={"authenticity_token": token, "password": "not the password"}
    )
    assert wrong.status_code == 422
    assert "Invalid e-mail address or password" in wrong.text
    assert await rows(app, Identity) == []
    assert await rows(app, WebSession) == []

    right = await client.post(
        "/auth/oidc/testid/link", data={"authenticity_token": token, "password": DEFAULT_PASSWORD}
    )
    assert right.status_code == 303, right.text
    [identity] = await rows(app, Identity)
    assert (identity.user_id, identity.subject) == (alice.id, "alice-at-idp")
    await assert_signed_in(app, right, alice.id)

    # From now on the provider alone signs Alice in.
    again = await through_provider(client)
    assert again.status_code == 303
    await assert_signed_in(app, again, alice.id)


async def test_unverified_email_never_links(
    site: tuple[FastAPI, httpx.AsyncClient], oidc_provider: RunningProvider
) -> None:
    app, client = site
    await create_user(app, "bob", email="bob@example.com")
    await oidc_provider.next_login(sub="mallory", email="bob@example.com", email_verified=False)
    page = await through_provider(client)
    assert page.status_code == 200
    assert "Link your" not in page.text
    assert "Join with Test ID" in page.text

    refused = await client.post(
        "/auth/oidc/testid/sign-up",
        data={
            "authenticity_token": form_value(page, "authenticity_token"),
            "username": "mallory",
            "date_of_birth": years_ago(30),
            "agreement": "1",
        },
    )
    assert refused.status_code == 422
    assert "email: is already taken" in refused.text
    assert await rows(app, Identity) == []
    assert [a.username for a in await rows(app, Account)] == ["bob"]

    # A form posted without this browser's token (cross-site) is refused.
    forged = await client.post(
        "/auth/oidc/testid/sign-up",
        data={
            "authenticity_token": "guessed",
            "username": "mallory",
            "date_of_birth": years_ago(30),
        },
    )
    assert forged.status_code == 403
    assert forms.REFUSED in forged.text

    # Nor can the link form be posted for it: the sign-up page's token is no link form's.
    forced = await client.post(
        "/auth/oidc/testid/link",
        data={
            "authenticity_token": form_value(page, "authenticity_token"),
            "password": DEFAULT_PASSWORD,
        },
    )
    assert forced.status_code == 403
    assert await rows(app, Identity) == []


@pytest.mark.slow
async def test_two_factor_is_asked_of_a_linked_account(
    site: tuple[FastAPI, httpx.AsyncClient], oidc_provider: RunningProvider
) -> None:
    app, client = site
    _, carol = await create_user(app, "carol", email="carol@example.com")
    secret_key = app.state.settings.secret_key
    async with app.state.engines.db.transaction() as session:
        user = await session.get(User, carol.id)
        assert user is not None
        enrolment = two_factor.begin(
            user, secret_key=secret_key, account_label="carol", issuer="test"
        )
        codes = await two_factor.confirm(
            session, user, pyotp.TOTP(enrolment.secret).now(), secret_key=secret_key
        )
    await oidc_provider.next_login(sub="carol-idp", email="carol@example.com", email_verified=True)
    page = await through_provider(client)
    assert "Two-factor code" in page.text
    linked = await client.post(
        "/auth/oidc/testid/link",
        data={
            "authenticity_token": form_value(page, "authenticity_token"),
            "password": DEFAULT_PASSWORD,
            "otp_code": codes[0],
        },
    )
    assert linked.status_code == 303, linked.text

    again = await through_provider(client)
    assert again.status_code == 200
    assert "Two-factor authentication" in again.text
    wrong = await client.post(
        "/auth/oidc/testid/two-factor",
        data={"authenticity_token": form_value(again, "authenticity_token"), "otp_code": "1"},
    )
    assert wrong.status_code == 422
    done = await client.post(
        "/auth/oidc/testid/two-factor",
        data={"authenticity_token": form_value(again, "authenticity_token"), "otp_code": codes[1]},
    )
    assert done.status_code == 303
    await assert_signed_in(app, done, carol.id)


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("bad_signature", "invalid signature"),
        ("wrong_audience", "invalid (aud)"),
        ("expired", "has expired"),
        ("wrong_nonce", "invalid (nonce)"),
        ("deny", "was cancelled or refused"),
    ],
)
@pytest.mark.slow
async def test_bad_answers_from_the_provider_are_refused(
    site: tuple[FastAPI, httpx.AsyncClient], oidc_provider: RunningProvider, mode: str, message: str
) -> None:
    app, client = site
    await create_user(app, "dave", email="dave@example.com")
    await oidc_provider.next_login(
        sub="dave-idp", email="dave@example.com", email_verified=True, mode=mode
    )
    page = await through_provider(client)
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert "Sign-in failed" in page.text
    assert message in page.text.replace("&#39;", "'")
    assert await rows(app, Identity) == []
    assert await rows(app, WebSession) == []


async def test_tampered_or_missing_state_is_refused(
    site: tuple[FastAPI, httpx.AsyncClient], oidc_provider: RunningProvider
) -> None:
    app, client = site
    await oidc_provider.next_login(sub="eve", email="eve@example.org", email_verified=True)
    started = await client.get("/auth/oidc/testid")
    async with httpx.AsyncClient(verify=probe.ssl_context()) as browser_at_provider:
        approved = await browser_at_provider.get(started.headers["location"])
    callback = httpx.URL(approved.headers["location"])
    tampered = callback.copy_set_param("state", "forged-state")
    page = await client.get(str(tampered))
    assert page.status_code == 400
    assert "does not match" in page.text
    odd = await client.get(str(callback.copy_set_param("state", "ünïcødé")))
    assert odd.status_code == 400

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as stranger:
        elsewhere = await stranger.get(str(callback))
    assert elsewhere.status_code == 400
    assert "started in another browser" in elsewhere.text
    await assert_nothing_stored(app)


async def test_email_from_userinfo_when_the_id_token_has_none(
    site: tuple[FastAPI, httpx.AsyncClient], oidc_provider: RunningProvider
) -> None:
    _, client = site
    await oidc_provider.next_login(
        sub="quiet", email="quiet@example.org", email_verified=True, mode="userinfo_email"
    )
    page = await through_provider(client)
    assert page.status_code == 200
    assert "quiet@example.org" in page.text
    assert form_value(page, "username") == "quiet"


@pytest.mark.slow
async def test_registration_modes_apply(app_factory: Any, oidc_provider: RunningProvider) -> None:
    await oidc_provider.next_login(sub="late", email="late@example.org", email_verified=True)
    async with app_factory(registration_mode="closed", **provider_settings(oidc_provider)) as (
        app,
        client,
    ):
        page = await through_provider(client)
        assert page.status_code == 403
        assert "Registrations are closed" in page.text
        await assert_nothing_stored(app)

    async with app_factory(registration_mode="approval", **provider_settings(oidc_provider)) as (
        app,
        client,
    ):
        page = await through_provider(client)
        created = await client.post(
            "/auth/oidc/testid/sign-up",
            data={
                "authenticity_token": form_value(page, "authenticity_token"),
                "username": "late",
                "date_of_birth": years_ago(20),
                "agreement": "1",
            },
        )
        assert created.status_code == 200
        assert "A moderator will review it" in created.text
        assert SESSION_COOKIE not in created.cookies
        [user] = await rows(app, User)
        assert user.approved is False
        assert len(await rows(app, Identity)) == 1

        # Until approved, the provider cannot sign the account in either.
        pending = await through_provider(client)
        assert pending.status_code == 403
        assert "pending review" in pending.text


@pytest.mark.slow
async def test_unknown_provider_and_unsafe_return_to(
    site: tuple[FastAPI, httpx.AsyncClient], oidc_provider: RunningProvider
) -> None:
    _, client = site
    missing = await client.get("/auth/oidc/nosuch")
    assert missing.status_code == 404
    assert "no sign-in provider" in missing.text

    await oidc_provider.next_login(sub="frank", email="frank@example.org", email_verified=True)
    page = await through_provider(client, "/auth/oidc/testid?return_to=//evil.example/x")
    created = await client.post(
        "/auth/oidc/testid/sign-up",
        data={
            "authenticity_token": form_value(page, "authenticity_token"),
            "username": "frank",
            "date_of_birth": years_ago(25),
            "agreement": "1",
        },
    )
    assert created.status_code == 303
    assert created.headers["location"] == "/"


def test_google_shortcut_and_provider_links(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLIENT_ID", "id.apps.googleusercontent.com")
    monkeypatch.setenv("GOOGLE_CLIENT_SECRET", "google-secret")
    monkeypatch.setenv(
        "OIDC_PROVIDERS",
        '[{"name": "corp", "label": "Corp SSO", "issuer": "https://sso.corp.example",'
        ' "client_id": "c", "client_secret": "s"}]',
    )
    settings = load_settings()
    [google, corp] = settings.sign_in_providers
    assert (google.name, google.issuer) == ("google", "https://accounts.google.com")
    links = provider_links(settings, return_to="/home")
    assert [(link.label, link.start_url) for link in links] == [
        ("Google", "/auth/oidc/google?return_to=/home"),
        ("Corp SSO", "/auth/oidc/corp?return_to=/home"),
    ]
    assert corp.client_secret.get_secret_value() == "s"


@pytest.mark.slow
async def test_linking_goes_through_while_the_rate_limiter_is_down(
    app_factory: Any, oidc_provider: RunningProvider
) -> None:
    """The link form counts its client IP itself (the middleware does not cover the path);
    like every other hit, a limiter outage lets the attempt through (docs/rate-limits.md)
    instead of answering 500. The limiter is a Redis server of the test's own, stopped
    half-way."""
    limiter_redis = RedisProcess(free_port())
    limiter_redis.start()
    try:
        async with app_factory(**provider_settings(oidc_provider)) as (app, client):
            engines = app.state.engines
            redis = connect_redis(limiter_redis.url)
            healthy = engines.ratelimiter
            engines.ratelimiter = RedisRateLimiter(redis, KeySpace("limits:"), app.state.settings)
            try:
                _, alice = await create_user(app, "alice", email="alice@example.com")
                await oidc_provider.next_login(
                    sub="alice-at-idp", email="alice@example.com", email_verified=True
                )
                page = await through_provider(client)
                csrf = form_value(page, "authenticity_token")
                wrong = await client.post(
                    "/auth/oidc/testid/link",
                    data={"authenticity_token": csrf, "password": "not it"},
                )
                assert wrong.status_code == 422
                counted = [key async for key in redis.scan_iter(match="limits:*")]
                assert len(counted) >= 2  # the e-mail and the IP buckets, in our Redis

                limiter_redis.stop()
                right = await client.post(
                    "/auth/oidc/testid/link",
                    data={"authenticity_token": csrf, "password": DEFAULT_PASSWORD},
                )
            finally:
                engines.ratelimiter = healthy
                await redis.aclose()
            assert right.status_code == 303, right.text
            [identity] = await rows(app, Identity)
            assert identity.user_id == alice.id
    finally:
        limiter_redis.stop()


@pytest.mark.slow
async def test_a_no_access_ip_block_refuses_the_sign_in_as_it_refuses_a_password(
    site: tuple[FastAPI, httpx.AsyncClient], oidc_provider: RunningProvider
) -> None:
    """The block is written straight to the table, so the edge's gate (which hears of
    blocks made through the admin API) has not loaded it: the sign-in's own check refuses."""
    from connecthub.denylists.models import IpBlock
    from connecthub.infra.audit_trail import AuditLogRow

    app, client = site
    await oidc_provider.next_login(sub="gated-1", email="gated@example.org", email_verified=True)
    page = await through_provider(client)
    await client.post(
        "/auth/oidc/testid/sign-up",
        data={
            "authenticity_token": form_value(page, "authenticity_token"),
            "username": "gated",
            "date_of_birth": years_ago(40),
            "agreement": "on",
        },
    )
    assert len(await rows(app, User)) == 1
    async with app.state.engines.db.transaction() as session:
        now = utcnow()
        session.add(
            IpBlock(
                ip="127.0.0.1/32", severity="no_access", comment="", created_at=now, updated_at=now
            )
        )
    sessions_before = len(await rows(app, WebSession))

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50002)),
        base_url="http://testserver",
    ) as other_browser:
        refused = await through_provider(other_browser)
    assert refused.status_code == 403
    assert SESSION_COOKIE not in refused.cookies
    assert len(await rows(app, WebSession)) == sessions_before
    refusals = [
        row
        for row in await rows(app, AuditLogRow)
        if row.event == "accounts.sign_in" and row.outcome == "refused"
    ]
    assert refusals
    assert json.loads(refusals[-1].details)["method"] == "oidc"
