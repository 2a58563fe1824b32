"""The one signed-form mechanism (`http/forms.py`) on every server-rendered form: a token
that is missing, forged, signed with another key, expired, made for another form, or bound
to another browser is refused (403, nothing done), on each route of each form in the one
list of forms, `forms.ALL_FORMS`. And no page form goes without the token."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

import connecthub.routes  # noqa: F401 - importing the endpoint modules declares their forms
from connecthub import clock
from connecthub.http import forms, pages
from tests.accounts.support import STRONG_PASSWORD, count_rows, hidden_fields, years_ago
from tests.factories import create_user, register_oauth_app

ROUTES = [
    pytest.param(form, method, path, id=f"{form.name}-{method}-{path}")
    for form in forms.ALL_FORMS.values()
    for method, path in form.routes
]
OTHER_BROWSER = "a-browser-that-is-not-this-one-0123456789"

# Fields that would do something if the token were accepted: sign in, sign up, approve.
FIELDS = {
    "email": "xena@example.com",
    "password": STRONG_PASSWORD,
    "password_confirmation": STRONG_PASSWORD,
    "username": "newcomer",
    "date_of_birth": years_ago(30),
    "agreement": "1",
    "decision": "approve",
}

TokenMaker = Callable[[str, forms.PageForm, str], str]


def _other_form(form: forms.PageForm) -> forms.PageForm:
    names = sorted(forms.ALL_FORMS)
    return forms.ALL_FORMS[names[(names.index(form.name) + 1) % len(names)]]


BAD_TOKENS: dict[str, TokenMaker] = {
    "missing": lambda _secret, _form, _browser: "",
    "forged": lambda _secret, _form, _browser: "x" * 80,
    "another key": lambda _secret, form, browser: forms.sign_token(
        "not-this-servers-secret-key-0123456789", form.name, browser
    ),
    "expired": lambda secret, form, browser: forms.sign_token(
        secret, form.name, browser, issued_at=clock.epoch_ms() // 1000 - form.max_age - 60
    ),
    "another form": lambda secret, form, browser: forms.sign_token(
        secret, _other_form(form).name, browser
    ),
    "another browser": lambda secret, form, _browser: forms.sign_token(
        secret, form.name, OTHER_BROWSER
    ),
}


def test_every_route_of_the_list_is_tested() -> None:
    names = {param.values[0].name for param in ROUTES}  # type: ignore[union-attr]
    assert {"sign_in", "sign_up", "authorize", "oidc_link", "password_reset"} <= names


@pytest.mark.parametrize(("form", "method", "path"), ROUTES)
async def test_a_bad_token_is_refused(
    app: FastAPI, client: httpx.AsyncClient, form: forms.PageForm, method: str, path: str
) -> None:
    await create_user(app, "xena", password=STRONG_PASSWORD)
    url = path.replace("{provider}", "testid")
    await client.get("/auth/sign_in")  # this browser now holds its form cookie
    browser = client.cookies[forms.COOKIE]
    secret = app.state.settings.secret_key

    for case, make in BAD_TOKENS.items():
        data = {**FIELDS, forms.FIELD: make(secret, form, browser)}
        response = await client.request(method, url, data=data)
        assert response.status_code == 403, (case, response.text)
        assert forms.REFUSED in response.text, case

    # A genuine token is refused too when the browser's cookie does not come with it.
    genuine = forms.sign_token(secret, form.name, browser)
    client.cookies.delete(forms.COOKIE)
    response = await client.request(method, url, data={**FIELDS, forms.FIELD: genuine})
    assert response.status_code == 403, response.text

    assert "connecthub_session" not in client.cookies
    assert await count_rows(app, "web_sessions") == 0
    assert await count_rows(app, "users") == 1


async def test_a_token_from_one_page_is_refused_on_another_form(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    page = await client.get("/auth/sign_in")
    sign_in_token = hidden_fields(page.text)[forms.FIELD]
    response = await client.post("/auth/sign_up", data={**FIELDS, forms.FIELD: sign_in_token})
    assert response.status_code == 403, response.text
    assert await count_rows(app, "users") == 0


async def test_the_consent_form_is_refused_in_another_browser(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Someone who loads the consent page cannot make another person's browser post it
    (with the first one's credentials: a sign-in forced on the victim)."""
    await create_user(app, "xena", password=STRONG_PASSWORD)
    oauth_app = await register_oauth_app(client, redirect_uris="https://client.example/cb")
    params = {
        "response_type": "code",
        "client_id": oauth_app["client_id"],
        "redirect_uri": "https://client.example/cb",
        "scope": "read",
    }
    page = await client.get("/oauth/authorize", params=params)
    token = hidden_fields(page.text)[forms.FIELD]

    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50002))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as victim:
        await victim.get("/auth/sign_in")  # the victim's browser has a form cookie of its own
        response = await victim.post("/oauth/authorize", data={**FIELDS, forms.FIELD: token})
    assert response.status_code == 403, response.text
    assert "location" not in response.headers

    # The same form posted from the browser it was shown in goes through.
    mine = await client.post("/oauth/authorize", data={**FIELDS, forms.FIELD: token})
    assert mine.status_code == 302, mine.text
    assert mine.headers["location"].startswith("https://client.example/cb?code=")


_FORM_TAG = re.compile(r"<form\b[^>]*\baction=\"([^\"]+)\"[^>]*>(.*?)</form>", re.DOTALL)
_TOKEN_FIELD = '<input type="hidden" name="{{ form_field }}" value="{{ form_token }}">'


def test_every_page_form_carries_the_token_of_a_listed_form() -> None:
    posted_to = {path for form in forms.ALL_FORMS.values() for method, path in form.routes}
    seen = 0
    for name in pages.environment.list_templates():
        source, _, _ = pages.environment.loader.get_source(pages.environment, name)  # type: ignore[union-attr]
        for action, body in _FORM_TAG.findall(source):
            seen += 1
            path = action.replace("{{ provider.name }}", "{provider}")
            assert path in posted_to, (name, action)
            assert _TOKEN_FIELD in body, name
    assert seen >= 9
