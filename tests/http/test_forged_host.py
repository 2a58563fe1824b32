"""Every absolute URL the server emits is built from LOCAL_DOMAIN (and BEHIND_TLS), never
from the request's Host header: a forged Host must not reach clients, caches or links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.media.files import png
from tests.social_factories import auth, post_status, user_with_token

AppFactory = Callable[..., Any]
FORGED = {"Host": "evil.example"}
DOMAIN = "social.example"


def _urls(value: object) -> list[str]:
    """Every string in a JSON document that looks like an absolute URL."""
    if isinstance(value, dict):
        return [url for item in value.values() for url in _urls(item)]
    if isinstance(value, list):
        return [url for item in value for url in _urls(item)]
    if isinstance(value, str) and value.startswith(("http://", "https://", "ws://", "wss://")):
        return [value]
    return []


def _assert_local(urls: list[str], scheme: str = "http") -> None:
    assert urls
    for url in urls:
        if "joinmastodon.org" in url or "nodeinfo.diaspora.software" in url:
            continue  # documentation and schema identifiers, not this server
        assert "evil.example" not in url, url
        assert url.split("://", 1)[1].startswith(DOMAIN + "/") or url.endswith(DOMAIN), url
        assert url.startswith((f"{scheme}://", "ws://", "wss://")), url


@pytest.mark.parametrize("behind_tls", [False, True])
async def test_oauth_metadata_ignores_a_forged_host(
    app_factory: AppFactory, behind_tls: bool
) -> None:
    async with app_factory(local_domain=DOMAIN, behind_tls=behind_tls) as (_, client):
        meta = (await client.get("/.well-known/oauth-authorization-server", headers=FORGED)).json()

    scheme = "https" if behind_tls else "http"
    assert meta["issuer"] == f"{scheme}://{DOMAIN}/"
    assert meta["authorization_endpoint"] == f"{scheme}://{DOMAIN}/oauth/authorize"
    assert meta["token_endpoint"] == f"{scheme}://{DOMAIN}/oauth/token"
    assert meta["revocation_endpoint"] == f"{scheme}://{DOMAIN}/oauth/revoke"
    assert meta["app_registration_endpoint"] == f"{scheme}://{DOMAIN}/api/v1/apps"


@pytest.mark.parametrize("behind_tls", [False, True])
async def test_link_header_ignores_a_forged_host(app_factory: AppFactory, behind_tls: bool) -> None:
    async with app_factory(local_domain=DOMAIN, behind_tls=behind_tls) as (app, client):
        _, token = await user_with_token(app, "alice")
        for n in range(3):
            await post_status(client, token, f"post {n}")
        page = await client.get(
            "/api/v1/timelines/public",
            params={"limit": 2, "local": "true"},
            headers={**auth(token), **FORGED},
        )

    assert page.status_code == 200, page.text
    scheme = "https" if behind_tls else "http"
    links = [part.split(";")[0].strip(" <>") for part in page.headers["link"].split(",")]
    assert len(links) == 2
    for link in links:
        assert link.startswith(f"{scheme}://{DOMAIN}/api/v1/timelines/public?"), link
        assert "limit=2" in link
        assert "local=true" in link


async def test_instance_and_nodeinfo_ignore_a_forged_host(app_factory: AppFactory) -> None:
    async with app_factory(local_domain=DOMAIN) as (_, client):
        for path in ("/api/v1/instance", "/api/v2/instance", "/.well-known/nodeinfo"):
            response = await client.get(path, headers=FORGED)
            assert response.status_code == 200, (path, response.text)
            assert "evil.example" not in response.text, path
            _assert_local(_urls(response.json()))


async def test_statuses_accounts_and_media_ignore_a_forged_host(app_factory: AppFactory) -> None:
    async with app_factory(local_domain=DOMAIN) as (app, client):
        _, token = await user_with_token(app, "alice")
        headers = {**auth(token), **FORGED}
        uploaded = await client.post(
            "/api/v2/media", headers=headers, files={"file": ("a.png", png(), "image/png")}
        )
        assert uploaded.status_code in (200, 202), uploaded.text
        posted = await client.post(
            "/api/v1/statuses",
            json={"status": "#hello", "media_ids": [uploaded.json()["id"]]},
            headers=headers,
        )
        assert posted.status_code == 200, posted.text
        me = await client.get("/api/v1/accounts/verify_credentials", headers=headers)

    for document in (uploaded.json(), posted.json(), me.json()):
        assert "evil.example" not in str(document)
        _assert_local(_urls(document))


async def test_a_trailing_slash_redirect_ignores_a_forged_host(app_factory: AppFactory) -> None:
    async with app_factory(local_domain=DOMAIN) as (_, client):
        removed = await client.get("/api/v1/timelines/public/?limit=2", headers=FORGED)
        unknown = await client.get("/api/v1/no-such-thing/", headers=FORGED)

    assert removed.status_code == 307
    assert removed.headers["location"] == f"http://{DOMAIN}/api/v1/timelines/public?limit=2"
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "Record not found"}
