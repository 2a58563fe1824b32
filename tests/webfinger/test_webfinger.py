"""The discovery documents clients fetch on every load: host-meta (XRD) and WebFinger (JRD)
for local accounts, shaped as Mastodon serves them, with absolute URLs built from
LOCAL_DOMAIN whatever Host the request carried."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi import FastAPI

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from tests.factories import create_user

AppFactory = Callable[..., Any]
DOMAIN = "social.example"
XRD = "{http://docs.oasis-open.org/ns/xri/xrd-1.0}"
# A Host header the server must not copy into the links it hands out.
FOREIGN_HOST = {"Host": "evil.example"}


def settings(**overrides: Any) -> dict[str, Any]:
    return {"local_domain": DOMAIN, "behind_tls": True, **overrides}


async def test_host_meta_points_at_webfinger(app_factory: AppFactory) -> None:
    async with app_factory(**settings()) as (_, client):
        response = await client.get("/.well-known/host-meta", headers=FOREIGN_HOST)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xrd+xml")
    root = ElementTree.fromstring(response.content)  # noqa: S314 - our own document
    assert root.tag == f"{XRD}XRD"
    links = root.findall(f"{XRD}Link")
    assert [(link.get("rel"), link.get("template")) for link in links] == [
        ("lrdd", f"https://{DOMAIN}/.well-known/webfinger?resource={{uri}}")
    ]


def expected_jrd(username: str) -> dict[str, Any]:
    profile = f"https://{DOMAIN}/@{username}"
    actor = f"https://{DOMAIN}/users/{username}"
    return {
        "subject": f"acct:{username}@{DOMAIN}",
        "aliases": [profile, actor],
        "links": [
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile},
            {"rel": "self", "type": "application/activity+json", "href": actor},
        ],
    }


@pytest.mark.parametrize(
    "resource",
    [
        f"acct:Alice@{DOMAIN}",
        f"acct:alice@{DOMAIN.upper()}",
        f"Alice@{DOMAIN}",
        f"https://{DOMAIN}/@Alice",
        f"https://{DOMAIN}/users/alice",
    ],
)
async def test_webfinger_finds_a_local_account(app_factory: AppFactory, resource: str) -> None:
    async with app_factory(**settings()) as (app, client):
        await create_user(app, "Alice")
        response = await client.get(
            "/.well-known/webfinger", params={"resource": resource}, headers=FOREIGN_HOST
        )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/jrd+json")
    assert response.json() == expected_jrd("Alice")


async def suspend(app: FastAPI, account_id: int) -> None:
    async with app.state.engines.db.transaction() as session:
        account = await session.get(Account, account_id)
        assert account is not None
        account.suspended_at = utcnow()


async def test_webfinger_answers_404_for_unknown_and_suspended_accounts(
    app_factory: AppFactory,
) -> None:
    async with app_factory(**settings()) as (app, client):
        gone, _ = await create_user(app, "gone")
        await suspend(app, gone.id)
        await create_user(app, "alice")
        for resource in (
            f"acct:nobody@{DOMAIN}",
            f"acct:gone@{DOMAIN}",
            f"https://{DOMAIN}/@gone",
            "acct:alice@elsewhere.example",  # a local name on another server
            "https://elsewhere.example/@alice",
            f"https://{DOMAIN}/about",
        ):
            response = await client.get("/.well-known/webfinger", params={"resource": resource})
            assert response.status_code == 404, resource


async def test_webfinger_answers_400_for_a_bad_resource(app_factory: AppFactory) -> None:
    async with app_factory(**settings()) as (_, client):
        missing = await client.get("/.well-known/webfinger")
        assert missing.status_code == 400
        assert "resource" in missing.json()["error"]
        for resource in ("", "alice", "mailto:alice", "acct:", f"acct:@{DOMAIN}", "acct:alice@"):
            response = await client.get("/.well-known/webfinger", params={"resource": resource})
            assert response.status_code == 400, resource
            assert "resource" in response.json()["error"]
