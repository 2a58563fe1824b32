"""The authorization-code flow driven through the HTML sign-in and consent page, as a
browser would (no JavaScript), then the code exchanged at the token endpoint."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from connecthub.accounts import two_factor
from connecthub.accounts.models import OAuthApplication
from connecthub.http.security import CONTENT_SECURITY_POLICY
from tests.accounts.support import hidden_fields
from tests.factories import DEFAULT_PASSWORD, create_user, register_oauth_app

REDIRECT = "https://client.example/callback"
OOB = "urn:ietf:wg:oauth:2.0:oob"


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.inputs: list[str] = []
        self.action: str | None = None
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.action = values.get("action")
        elif tag == "input":
            self.inputs.append(values.get("name", ""))
            if values.get("type") == "hidden":
                self.hidden[values["name"]] = values.get("value", "")
        elif tag == "script":
            self.scripts += 1


def read_form(html: str) -> _FormReader:
    reader = _FormReader()
    reader.feed(html)
    return reader


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_params(oauth_app: dict[str, Any], **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": oauth_app["client_id"],
        "redirect_uri": REDIRECT,
        "scope": "read write",
        "state": "xyz-state",
        **extra,
    }


async def sign_in_on_page(
    client: Any,
    params: dict[str, str],
    *,
    email: str,
    password: str = DEFAULT_PASSWORD,
    otp: str | None = None,
    decision: str = "approve",
) -> Any:
    page = await client.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    form = read_form(page.text)
    assert form.action == "/oauth/authorize"
    data = {**form.hidden, "email": email, "password": password, "decision": decision}
    if otp is not None:
        data["otp_attempt"] = otp
    return await client.post("/oauth/authorize", data=data)


def code_from(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query)


async def exchange(client: Any, oauth_app: dict[str, Any], code: str, **extra: str) -> Any:
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": oauth_app["client_id"],
            "client_secret": oauth_app["client_secret"],
            "code": code,
            "redirect_uri": REDIRECT,
            **extra,
        },
    )


async def test_authorization_code_with_pkce_through_the_html_page(app, client):
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client, name="Phanpy Test", redirect_uris=REDIRECT)
    verifier, challenge = pkce_pair()
    params = authorize_params(oauth_app, code_challenge=challenge, code_challenge_method="S256")

    page = await client.get("/oauth/authorize", params=params)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "form-action 'self' https://client.example" in csp
    form = read_form(page.text)
    assert form.scripts == 0  # works without JavaScript; CSP forbids inline scripts anyway
    assert "Phanpy Test" in page.text
    assert "Read all your account" in page.text
    assert {"email", "password", "otp_attempt", "authenticity_token"} <= set(form.inputs)

    response = await sign_in_on_page(client, params, email="alice@example.com")
    query = code_from(response)
    assert query["state"] == ["xyz-state"]
    code = query["code"][0]

    token = await exchange(client, oauth_app, code, code_verifier=verifier)
    assert token.status_code == 200, token.text
    body = token.json()
    assert set(body["scope"].split()) == {"read", "write"}
    assert "refresh_token" not in body  # Mastodon's default: non-expiring access tokens
    assert "expires_in" not in body
    sessions = await client.get(
        "/api/v1/connecthub/sessions",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert sessions.status_code == 200, sessions.text
    assert [s["application"] for s in sessions.json() if s["current"]] == ["Phanpy Test"]


async def test_wrong_or_missing_verifier_is_refused(app, client):
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client, redirect_uris=REDIRECT)
    _verifier, challenge = pkce_pair()
    params = authorize_params(oauth_app, code_challenge=challenge, code_challenge_method="S256")
    code = code_from(await sign_in_on_page(client, params, email="alice@example.com"))["code"][0]

    wrong, _ = pkce_pair()
    refused = await exchange(client, oauth_app, code, code_verifier=wrong)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    missing = await exchange(client, oauth_app, code)
    assert missing.json()["error"] == "invalid_grant"


async def test_reused_code_is_refused_and_revokes_its_tokens(app, client):
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client, redirect_uris=REDIRECT)
    code = code_from(
        await sign_in_on_page(client, authorize_params(oauth_app), email="alice@example.com")
    )["code"][0]
    first = await exchange(client, oauth_app, code)
    assert first.status_code == 200, first.text
    headers = {"Authorization": f"Bearer {first.json()['access_token']}"}
    assert (await client.get("/api/v1/connecthub/sessions", headers=headers)).status_code == 200

    again = await exchange(client, oauth_app, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert (await client.get("/api/v1/connecthub/sessions", headers=headers)).status_code == 401


async def test_redirect_uri_must_match_exactly(app, client):
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client, redirect_uris=[REDIRECT, OOB])
    code = code_from(
        await sign_in_on_page(client, authorize_params(oauth_app), email="alice@example.com")
    )["code"][0]
    for other in (REDIRECT + "/", OOB, "https://client.example/callback?x=1"):
        refused = await exchange(client, oauth_app, code, redirect_uri=other)
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_grant"
    assert (await exchange(client, oauth_app, code)).status_code == 200


async def test_unregistered_redirect_uri_or_client_gets_an_error_page_never_a_redirect(client):
    oauth_app = await register_oauth_app(client, redirect_uris=REDIRECT)
    for params in (
        authorize_params(oauth_app, redirect_uri="https://evil.example/steal"),
        authorize_params(oauth_app, redirect_uri=REDIRECT + "/extra"),
        authorize_params(oauth_app, client_id="nope"),
    ):
        page = await client.get("/oauth/authorize", params=params)
        assert page.status_code == 400
        assert "location" not in page.headers
        assert page.headers["content-type"].startswith("text/html")
        assert "evil.example" not in page.headers.get("content-security-policy", "")


async def test_plain_pkce_and_other_bad_requests_are_sent_back_as_errors(client):
    oauth_app = await register_oauth_app(client, redirect_uris=REDIRECT, scopes="read")
    verifier = secrets.token_urlsafe(48)
    cases = [
        ({"code_challenge": verifier, "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": verifier}, "invalid_request"),  # RFC 7636's default is plain
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "write"}, "invalid_scope"),  # beyond the app's scopes
    ]
    for extra, error in cases:
        page = await client.get(
            "/oauth/authorize", params=authorize_params(oauth_app, **{"scope": "read", **extra})
        )
        query = code_from(page)
        assert query["error"] == [error], (extra, query)
        assert query["state"] == ["xyz-state"]
        assert "code" not in query


async def test_deny_redirects_with_access_denied(client):
    oauth_app = await register_oauth_app(client, redirect_uris=REDIRECT)
    page = await client.get("/oauth/authorize", params=authorize_params(oauth_app))
    form = read_form(page.text)
    response = await client.post("/oauth/authorize", data={**form.hidden, "decision": "deny"})
    query = code_from(response)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["xyz-state"]


async def test_out_of_band_shows_the_code_on_a_page(app, client):
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client, redirect_uris=OOB)
    params = authorize_params(oauth_app, redirect_uri=OOB)
    response = await sign_in_on_page(client, params, email="alice@example.com")
    assert response.status_code == 200
    code = response.text.split('id="authorization_code">')[1].split("<")[0].strip()
    token = await exchange(client, oauth_app, code, redirect_uri=OOB)
    assert token.status_code == 200, token.text


async def test_bad_credentials_rerender_the_page_without_a_code(app, client):
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client, redirect_uris=REDIRECT)
    response = await sign_in_on_page(
        client, authorize_params(oauth_app), email="alice@example.com", password="wrong pass 1"
    )
    assert response.status_code == 422
    assert "location" not in response.headers
    assert "Invalid e-mail address or password" in response.text
    unknown = await sign_in_on_page(
        client, authorize_params(oauth_app), email="nobody@example.com", password="wrong pass 1"
    )
    assert unknown.status_code == 422
    assert "Invalid e-mail address or password" in unknown.text


async def test_forged_or_tampered_form_is_refused(app, client):
    await create_user(app, "alice")
    oauth_app = await register_oauth_app(client, redirect_uris=REDIRECT)
    page = await client.get("/oauth/authorize", params=authorize_params(oauth_app))
    token = read_form(page.text).hidden["authenticity_token"]
    for forged in ("", "x" + token, token[:-2]):
        response = await client.post(
            "/oauth/authorize",
            data={
                "authenticity_token": forged,
                "email": "alice@example.com",
                "password": DEFAULT_PASSWORD,
                "decision": "approve",
            },
        )
        assert response.status_code == 403
        assert "location" not in response.headers


async def test_two_factor_sign_in_on_the_page_asks_for_the_code(app, client):
    _account, user = await create_user(app, "alice")
    secret_key = app.state.settings.secret_key
    async with app.state.engines.db.transaction() as session:
        user = await session.merge(user)
        enrolment = two_factor.begin(
            user, secret_key=secret_key, account_label="alice", issuer="ConnectHub"
        )
        await two_factor.confirm(
            session, user, pyotp.TOTP(enrolment.secret).now(), secret_key=secret_key
        )
    oauth_app = await register_oauth_app(client, redirect_uris=REDIRECT)
    params = authorize_params(oauth_app)

    asked = await sign_in_on_page(client, params, email="alice@example.com")
    assert asked.status_code == 200
    assert "location" not in asked.headers
    assert "one-time code" in asked.text
    form = read_form(asked.text)

    # A later TOTP step than the one used to confirm enrolment, so it is not a replay.
    code = pyotp.TOTP(enrolment.secret).at(int(time.time()) + 30)
    response = await client.post(
        "/oauth/authorize",
        data={
            **form.hidden,
            "email": "alice@example.com",
            "password": DEFAULT_PASSWORD,
            "otp_attempt": code,
            "decision": "approve",
        },
    )
    assert "code" in code_from(response)


def _directives(csp: str) -> dict[str, str]:
    return {part.strip().split(" ", 1)[0]: part.strip() for part in csp.split(";")}


@pytest.mark.parametrize(
    ("redirect_uri", "source"),
    [
        ("https://client.example/callback", "https://client.example"),
        ("HTTPS://Client.Example:8443/cb;p?a=1,2", "https://client.example:8443"),
        ("https://client.example:443/cb", "https://client.example"),
        ("https://user@client.example/cb", "https://client.example"),
        ("http://127.0.0.1:8765/callback", "http://127.0.0.1:8765"),
        ("https://xn--exmple-cua.com/cb", "https://xn--exmple-cua.com"),
        # An app's own scheme: browsers do not all read a host in such URLs.
        ("myapp://callback", "myapp:"),
        ("com.example.app:/oauth2redirect", "com.example.app:"),
    ],
)
async def test_authorize_page_allows_exactly_the_redirect_origin_as_form_action(
    client, redirect_uri, source
):
    oauth_app = await register_oauth_app(client, redirect_uris=redirect_uri)
    page = await client.get(
        "/oauth/authorize", params=authorize_params(oauth_app, redirect_uri=redirect_uri)
    )

    assert page.status_code == 200, page.text
    directives = _directives(page.headers["content-security-policy"])
    site = _directives(CONTENT_SECURITY_POLICY)
    assert directives["form-action"] == f"form-action 'self' {source}"
    assert {key: value for key, value in directives.items() if key != "form-action"} == {
        key: value for key, value in site.items() if key != "form-action"
    }


@pytest.mark.parametrize(
    "stored",
    ["https://exämple.com/cb", "http:/cb", "https://a.example;script-src/cb", "https://a,b/cb"],
)
async def test_an_app_stored_with_a_bad_redirect_uri_gets_an_error_page_never_a_500(
    app, client, stored
):
    """Rows registered before redirect URIs were checked: no redirect, no odd CSP."""
    async with app.state.engines.db.transaction() as session:
        row = OAuthApplication(
            name="Old app",
            redirect_uris=[stored],
            scopes="read",
            client_id=secrets.token_urlsafe(32),
            client_secret_hash="x",
        )
        session.add(row)
    page = await client.get(
        "/oauth/authorize",
        params=authorize_params({"client_id": row.client_id}, redirect_uri=stored, scope="read"),
    )

    assert page.status_code == 400, page.text
    assert "location" not in page.headers
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def _keeps_opener(response: Any) -> None:
    """A web client opens the authorize flow in a popup from its own origin and waits
    for it through window.opener: no page of the flow, redirects included, may send
    COOP same-origin (or same-origin-allow-popups), which would cut that link."""
    assert response.headers.get("cross-origin-opener-policy", "unsafe-none") == "unsafe-none"
    assert response.headers["x-frame-options"] == "DENY"  # still never framed


async def test_the_authorize_flow_keeps_the_popups_link_to_its_opener(app, client):
    _, user = await create_user(app, "alice")
    oauth_app = await register_oauth_app(client, redirect_uris=REDIRECT)
    params = authorize_params(oauth_app)
    authorize_path = client.build_request("GET", "/oauth/authorize", params=params).url.raw_path

    page = await client.get("/oauth/authorize", params=params)  # not signed in
    _keeps_opener(page)
    _keeps_opener(await client.get("/oauth/authorize", params={"client_id": "nope"}))  # error
    _keeps_opener(
        await client.get("/auth/oidc/none", params={"return_to": authorize_path.decode()})
    )
    sign_in_page = await client.get("/auth/sign_in", params={"next": authorize_path.decode()})
    _keeps_opener(sign_in_page)
    signed_in = await client.post(
        "/auth/sign_in",
        data={
            **hidden_fields(sign_in_page.text),
            "email": "alice@example.com",
            "password": DEFAULT_PASSWORD,
        },
    )
    assert signed_in.status_code == 303, signed_in.text
    _keeps_opener(signed_in)
    consent = await client.get(signed_in.headers["location"])
    assert "You are signed in as" in consent.text
    _keeps_opener(consent)
    approved = await client.post(
        "/oauth/authorize", data={**read_form(consent.text).hidden, "decision": "approve"}
    )
    assert "code" in code_from(approved)
    _keeps_opener(approved)

    # The two-factor step of the sign-in page is part of the flow too.
    secret_key = app.state.settings.secret_key
    async with app.state.engines.db.transaction() as session:
        user = await session.merge(user)
        enrolment = two_factor.begin(user, secret_key=secret_key, account_label="a", issuer="C")
        await two_factor.confirm(
            session, user, pyotp.TOTP(enrolment.secret).now(), secret_key=secret_key
        )
    client.cookies.clear()
    sign_in_page = await client.get("/auth/sign_in", params={"next": authorize_path.decode()})
    asked = await client.post(
        "/auth/sign_in",
        data={
            **hidden_fields(sign_in_page.text),
            "email": "alice@example.com",
            "password": DEFAULT_PASSWORD,
        },
    )
    assert "otp_attempt" in asked.text
    _keeps_opener(asked)
    # …and so is signing in on the authorize page itself, with its redirect to the client.
    _keeps_opener(await sign_in_on_page(client, params, email="alice@example.com"))
