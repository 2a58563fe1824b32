"""The instance documents clients read first: Mastodon's v1 and v2 shapes, values taken from
settings, statistics counted from the database and cached."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connecthub import MASTODON_API_COMPAT, __version__
from connecthub.accounts.models import Account, User
from connecthub.clock import utcnow
from tests.factories import create_user

AppFactory = Callable[..., Any]
VERSION = re.compile(r"^\d+\.\d+\.\d+")
FRESH = {"instance_stats_cache_seconds": 0}


async def _update(app: FastAPI, model: type[Any], row_id: int, **values: Any) -> None:
    async with app.state.engines.db.transaction() as session:
        row = await session.get(model, row_id)
        for name, value in values.items():
            setattr(row, name, value)


def _assert_types(document: dict[str, Any], expected: dict[str, type | tuple[type, ...]]) -> None:
    for name, kind in expected.items():
        assert name in document, name
        assert isinstance(document[name], kind), (name, document[name])


def _assert_limits(configuration: dict[str, Any]) -> None:
    statuses = configuration["statuses"]
    assert statuses == {
        "max_characters": 500,
        "max_media_attachments": 4,
        "characters_reserved_per_url": 23,
    }
    media = configuration["media_attachments"]
    assert "image/jpeg" in media["supported_mime_types"]
    for name in (
        "image_size_limit",
        "image_matrix_limit",
        "video_size_limit",
        "video_frame_rate_limit",
        "video_matrix_limit",
    ):
        assert isinstance(media[name], int)
        assert media[name] > 0
    polls = configuration["polls"]
    assert polls["max_options"] >= 2
    assert polls["min_expiration"] < polls["max_expiration"]
    assert configuration["accounts"]["max_featured_tags"] > 0


@pytest.mark.parametrize("path", ["/api/v1/instance", "/api/v1/instance/"])
async def test_v1_instance_has_mastodons_shape(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 200
    body = response.json()
    assert VERSION.match(body["version"])
    assert body["version"] == f"{MASTODON_API_COMPAT} (compatible; ConnectHub {__version__})"
    _assert_types(
        body,
        {
            "uri": str,
            "title": str,
            "short_description": str,
            "description": str,
            "email": str,
            "version": str,
            "urls": dict,
            "stats": dict,
            "thumbnail": str,
            "languages": list,
            "registrations": bool,
            "approval_required": bool,
            "invites_enabled": bool,
            "configuration": dict,
            "rules": list,
        },
    )
    assert body["uri"] == "localhost:8000"
    assert body["title"] == "ConnectHub"
    assert body["contact_account"] is None
    assert body["urls"] == {"streaming_api": "ws://localhost:8000"}
    assert body["stats"] == {"user_count": 0, "status_count": 0, "domain_count": 0}
    assert body["thumbnail"].startswith("http://localhost:8000/")
    assert body["languages"] == ["en", "id"]
    assert body["registrations"] is True
    assert body["approval_required"] is False
    _assert_limits(body["configuration"])
    assert [rule["id"] for rule in body["rules"]] == ["1", "2", "3"]


@pytest.mark.parametrize("path", ["/api/v2/instance", "/api/v2/instance/"])
async def test_v2_instance_has_mastodons_shape(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 200
    body = response.json()
    assert VERSION.match(body["version"])
    _assert_types(
        body,
        {
            "domain": str,
            "title": str,
            "version": str,
            "source_url": str,
            "description": str,
            "usage": dict,
            "thumbnail": dict,
            "icon": list,
            "languages": list,
            "configuration": dict,
            "registrations": dict,
            "api_versions": dict,
            "contact": dict,
            "rules": list,
        },
    )
    assert body["domain"] == "localhost:8000"
    assert body["api_versions"] == {"mastodon": 1}
    assert body["usage"] == {"users": {"active_month": 0}}
    assert body["thumbnail"]["url"].startswith("http://localhost:8000/")
    assert all(icon["src"].startswith("http://") and "x" in icon["size"] for icon in body["icon"])
    configuration = body["configuration"]
    _assert_limits(configuration)
    assert configuration["urls"]["streaming"] == "ws://localhost:8000"
    assert configuration["urls"]["about"] == "http://localhost:8000/about"
    # The instance's Web Push key: an uncompressed P-256 point, base64url (tests/push).
    assert len(configuration["vapid"]["public_key"]) == 87
    assert configuration["translation"] == {"enabled": False}
    assert isinstance(configuration["media_attachments"]["description_limit"], int)
    assert body["registrations"]["enabled"] is True
    assert body["registrations"]["approval_required"] is False
    assert body["registrations"]["min_age"] == 16
    assert body["registrations"]["message"] is None
    assert body["contact"] == {"email": "", "account": None}
    assert body["rules"][0] == {"id": "1", "text": "Be kind and respectful.", "hint": ""}


async def test_instance_values_come_from_settings(app_factory: AppFactory) -> None:
    settings = {
        "local_domain": "social.example",
        "instance_title": "Kopi Club",
        "instance_description": "Coffee people of Bandung.",
        "instance_contact_email": "admin@social.example",
        "instance_languages": "id,en",
        "instance_source_url": "https://code.example/connecthub",
        "max_status_characters": 1000,
        "min_signup_age": 18,
        "behind_tls": True,
    }
    async with app_factory(**settings) as (_, client):
        v1 = (await client.get("/api/v1/instance")).json()
        v2 = (await client.get("/api/v2/instance")).json()

    assert (v1["uri"], v1["title"], v1["short_description"]) == (
        "social.example",
        "Kopi Club",
        "Coffee people of Bandung.",
    )
    assert v1["email"] == "admin@social.example"
    assert v1["languages"] == ["id", "en"]
    assert v1["urls"]["streaming_api"] == "wss://social.example"
    assert v1["configuration"]["statuses"]["max_characters"] == 1000
    assert v1["thumbnail"].startswith("https://")
    assert (v2["domain"], v2["title"], v2["description"]) == (
        "social.example",
        "Kopi Club",
        "Coffee people of Bandung.",
    )
    assert v2["source_url"] == "https://code.example/connecthub"
    assert v2["contact"]["email"] == "admin@social.example"
    assert v2["configuration"]["urls"]["streaming"] == "wss://social.example"
    assert v2["configuration"]["statuses"]["max_characters"] == 1000
    assert v2["registrations"]["min_age"] == 18


@pytest.mark.parametrize(
    ("mode", "enabled", "approval", "open_registrations"),
    [
        ("open", True, False, True),
        ("approval", True, True, False),
        ("closed", False, False, False),
    ],
)
async def test_registration_mode_is_published(
    app_factory: AppFactory, mode: str, enabled: bool, approval: bool, open_registrations: bool
) -> None:
    async with app_factory(registration_mode=mode) as (_, client):
        v1 = (await client.get("/api/v1/instance")).json()
        v2 = (await client.get("/api/v2/instance")).json()
        nodeinfo = (await client.get("/nodeinfo/2.0")).json()

    assert (v1["registrations"], v1["approval_required"]) == (enabled, approval)
    assert (v2["registrations"]["enabled"], v2["registrations"]["approval_required"]) == (
        enabled,
        approval,
    )
    assert nodeinfo["openRegistrations"] is open_registrations


async def test_rules_have_string_ids_in_order(app_factory: AppFactory) -> None:
    async with app_factory(instance_rules="No spam,Be nice,Tag sensitive media") as (_, client):
        response = await client.get("/api/v1/instance/rules")

    assert response.status_code == 200
    assert response.json() == [
        {"id": "1", "text": "No spam", "hint": ""},
        {"id": "2", "text": "Be nice", "hint": ""},
        {"id": "3", "text": "Tag sensitive media", "hint": ""},
    ]


async def test_user_count_follows_sign_ups_when_not_cached(app_factory: AppFactory) -> None:
    async with app_factory(**FRESH) as (app, client):
        before = (await client.get("/api/v1/instance")).json()["stats"]
        await create_user(app, "alice")
        after = (await client.get("/api/v1/instance")).json()["stats"]
        nodeinfo = (await client.get("/nodeinfo/2.0")).json()

    assert before["user_count"] == 0
    assert after == {"user_count": 1, "status_count": 0, "domain_count": 0}
    assert nodeinfo["usage"]["users"]["total"] == 1


async def test_unconfirmed_and_suspended_users_are_not_counted(app_factory: AppFactory) -> None:
    async with app_factory(**FRESH) as (app, client):
        await create_user(app, "alice")
        await create_user(app, "bob", confirmed=False)
        carol, _ = await create_user(app, "carol")
        await _update(app, Account, carol.id, suspended_at=utcnow())
        stats = (await client.get("/api/v1/instance")).json()["stats"]

    assert stats["user_count"] == 1


async def test_stats_are_cached_for_the_configured_time(app_factory: AppFactory) -> None:
    async with app_factory(instance_stats_cache_seconds=3600) as (app, client):
        first = (await client.get("/api/v1/instance")).json()["stats"]
        await create_user(app, "alice")
        cached = (await client.get("/api/v1/instance")).json()["stats"]
        nodeinfo = (await client.get("/nodeinfo/2.0")).json()

    assert first["user_count"] == 0
    # Within the hour the counts are served from the cache (Redis or in-process).
    assert cached["user_count"] == 0
    assert nodeinfo["usage"]["users"]["total"] == 0


async def test_active_users_and_local_posts(app_factory: AppFactory) -> None:
    now = utcnow()
    async with app_factory(**FRESH) as (app, client):
        recent, recent_user = await create_user(app, "recent")
        _, older_user = await create_user(app, "older")
        await create_user(app, "never")
        await _update(app, User, recent_user.id, last_sign_in_at=now - timedelta(days=2))
        await _update(app, User, older_user.id, last_sign_in_at=now - timedelta(days=90))
        # The statuses domain keeps each account's count; the instance sums them.
        await _update(app, Account, recent.id, statuses_count=3)
        v1 = (await client.get("/api/v1/instance")).json()
        v2 = (await client.get("/api/v2/instance")).json()
        nodeinfo = (await client.get("/nodeinfo/2.0")).json()

    assert v1["stats"] == {"user_count": 3, "status_count": 3, "domain_count": 0}
    assert v2["usage"]["users"]["active_month"] == 1
    assert nodeinfo["usage"] == {
        "users": {"total": 3, "activeMonth": 1, "activeHalfyear": 2},
        "localPosts": 3,
    }


async def test_activity_is_twelve_weeks_of_strings(app_factory: AppFactory) -> None:
    async with app_factory(**FRESH) as (app, client):
        _, user = await create_user(app, "alice")
        await _update(app, User, user.id, last_sign_in_at=utcnow())
        response = await client.get("/api/v1/instance/activity")

    assert response.status_code == 200
    weeks = response.json()
    assert len(weeks) == 12
    assert all(set(week) == {"week", "statuses", "logins", "registrations"} for week in weeks)
    assert all(isinstance(value, str) for week in weeks for value in week.values())
    starts = [int(week["week"]) for week in weeks]
    assert starts == sorted(starts, reverse=True)
    assert all(a - b == 7 * 86400 for a, b in itertools.pairwise(starts))
    assert (weeks[0]["registrations"], weeks[0]["logins"]) == ("1", "1")
    assert all(week["registrations"] == "0" for week in weeks[1:])


async def test_the_smaller_instance_endpoints(client: httpx.AsyncClient) -> None:
    peers = await client.get("/api/v1/instance/peers")
    assert (peers.status_code, peers.json()) == (200, [])

    blocks = await client.get("/api/v1/instance/domain_blocks")
    assert (blocks.status_code, blocks.json()) == (200, [])

    translation = await client.get("/api/v1/instance/translation_languages")
    assert (translation.status_code, translation.json()) == (200, {})

    extended = (await client.get("/api/v1/instance/extended_description")).json()
    assert extended["content"] == "<p>A ConnectHub community.</p>"
    assert re.match(r"^\d{4}-\d\d-\d\dT", extended["updated_at"])

    languages = (await client.get("/api/v1/instance/languages")).json()
    assert languages[:2] == [
        {"code": "en", "name": "English"},
        {"code": "id", "name": "Indonesian"},
    ]


async def test_extended_description_escapes_html(app_factory: AppFactory) -> None:
    async with app_factory(instance_description="Fish & <chips>") as (_, client):
        extended = (await client.get("/api/v1/instance/extended_description")).json()
        v1 = (await client.get("/api/v1/instance")).json()

    assert extended["content"] == "<p>Fish &amp; &lt;chips&gt;</p>"
    assert v1["short_description"] == "Fish & <chips>"
    assert v1["description"] == "Fish &amp; &lt;chips&gt;"


async def test_instance_is_readable_cross_origin(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/instance", headers={"Origin": "https://app.example"})

    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize("path", ["/api/v1/instance", "/api/v2/instance", "/api/v2/instance/"])
async def test_instance_is_cacheable_and_revalidated_with_its_etag(
    client: httpx.AsyncClient, path: str
) -> None:
    first = await client.get(path)
    assert first.headers["cache-control"] == "max-age=180, public"  # as Mastodon's
    etag = first.headers["etag"]
    assert re.fullmatch(r'W/"[0-9a-f]{32}"', etag)
    assert (await client.get(path)).headers["etag"] == etag  # the same document
    for named in (etag, etag.removeprefix("W/"), f'"other", {etag}', "*"):
        again = await client.get(path, headers={"If-None-Match": named})
        assert again.status_code == 304, named
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "max-age=180, public"
        assert "x-request-id" in again.headers
    changed = await client.get(path, headers={"If-None-Match": 'W/"something-else"'})
    assert changed.status_code == 200
    assert changed.json() == first.json()


async def test_a_new_document_has_a_new_etag(app_factory: AppFactory) -> None:
    async with app_factory(**FRESH) as (app, client):
        before = (await client.get("/api/v1/instance")).headers["etag"]
        await create_user(app, username="newcomer")
        after = await client.get("/api/v1/instance", headers={"If-None-Match": before})
    assert after.status_code == 200
    assert after.headers["etag"] != before


# Each Mastodon API level and the route a client calls once it sees that level: a client
# that reads `api_versions.mastodon >= 2` (or a version from 4.3 on) loads its notifications
# from the grouped API.
LEVEL_ROUTES = [(2, (4, 3), "/api/v2/notifications")]


async def test_the_advertised_api_level_is_the_one_served(app: FastAPI, client: Any) -> None:
    routes = {getattr(route, "path", None) for route in app.routes}
    v1 = (await client.get("/api/v1/instance")).json()
    v2 = (await client.get("/api/v2/instance")).json()

    assert v1["version"] == v2["version"]
    major, minor = (int(part) for part in VERSION.findall(v2["version"])[0].split(".")[:2])
    api_level = v2["api_versions"]["mastodon"]
    for level, version, path in LEVEL_ROUTES:
        if api_level >= level or (major, minor) >= version:
            assert path in routes, f"advertises level {api_level} / {v2['version']} without {path}"
