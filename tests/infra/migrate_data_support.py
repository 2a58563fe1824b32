"""An embedded instance (SQLite, in-process engines) beside the test's PostgreSQL database, for
`connecthub migrate-data` tests: its app, its seeding through the API, and the target's
clean-up (the run's progress table is not part of the schema the test databases reset)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from connecthub.config import Settings
from tests.conftest import TestEnv
from tests.engines import _asyncpg_dsn, build_settings
from tests.factories import create_user, password_grant, register_oauth_app
from tests.media.files import png
from tests.schemas.checking import CheckedApp
from tests.social_factories import auth, post_status
from tests.timelines.support import settle


@dataclass
class Embedded:
    """The source instance: its own SQLite file and in-process engines; media in the test's
    media directory (the same directory the PostgreSQL app serves them from)."""

    env: TestEnv
    path: Path

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    def settings(self) -> Settings:
        return build_settings(
            self.url,
            self.env.key_prefix + "embedded:",
            redis_url=None,
            media_storage_url=f"file://{self.env.workdir / 'media'}",
            outbox_dir=str(self.env.workdir / "outbox"),
        )


async def make_embedded(env: TestEnv) -> Embedded:
    from connecthub.infra import migrations

    embedded = Embedded(env, env.workdir / "embedded.db")
    await migrations.upgrade(embedded.settings())
    # The target as `connecthub migrate` leaves a new database: without the VAPID key pair
    # the test template seeds (tests/engines.py, TEMPLATE_SEED), made at a server's first start.
    if env.database_url.startswith("postgresql"):
        await target_fetch(env, "DELETE FROM web_push_vapid_keys")
    return embedded


@contextlib.asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    from connecthub.app import create_app

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=CheckedApp(app), client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


async def drop_progress(env: TestEnv) -> None:
    """The run's record goes with the test (the next test gets this database emptied)."""
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(env.database_url, _database(env)))
    try:
        await connection.execute("DROP TABLE IF EXISTS migrate_data_progress")
    finally:
        await connection.close()


async def target_fetch(env: TestEnv, query: str, *args: Any) -> list[Any]:
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(env.database_url, _database(env)))
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


def _database(env: TestEnv) -> str:
    from sqlalchemy.engine import make_url

    return make_url(env.database_url).database or ""


@dataclass
class Seeded:
    tokens: dict[str, str]
    ids: dict[str, str]


async def _ok(client: httpx.AsyncClient, method: str, url: str, token: str, **kwargs: Any) -> Any:
    response = await client.request(method, url, headers=auth(token), **kwargs)
    assert response.status_code == 200, (method, url, response.status_code, response.text)
    return response.json()


async def seed(app: FastAPI, client: httpx.AsyncClient, *, statuses: int = 0) -> Seeded:
    """Every kind of data, through the API where a client would make it: accounts, an OAuth
    app and password-grant tokens, follows, statuses with media, a poll and a vote, a
    reply, favourites, boosts, bookmarks, a direct conversation, mentions (notifications),
    a hashtag, filters, a list, markers and a consent record; then `statuses` more posts."""
    oauth_app = await register_oauth_app(client)
    tokens: dict[str, str] = {}
    ids: dict[str, str] = {}
    for name in ("alice", "bob", "carol"):
        account, _user = await create_user(app, name)
        ids[name] = str(account.id)
        granted = await password_grant(client, oauth_app, f"{name}@example.com")
        assert granted.status_code == 200, granted.text
        tokens[name] = granted.json()["access_token"]
    alice, bob, carol = tokens["alice"], tokens["bob"], tokens["carol"]
    for who, whom in (("bob", "alice"), ("carol", "alice"), ("alice", "bob")):
        await _ok(client, "POST", f"/api/v1/accounts/{ids[whom]}/follow", tokens[who])

    files = {"file": ("square.png", png(), "image/png")}
    media = await _ok(
        client, "POST", "/api/v2/media", alice, files=files, data={"description": "a square"}
    )
    ids["media"] = media["id"]
    with_media = await post_status(
        client, alice, "A picture #squares", media_ids=[media["id"]], spoiler_text="shapes"
    )
    ids["with_media"] = with_media["id"]
    poll = {"options": ["tea", "coffee"], "expires_in": 3600, "multiple": False}
    polled = await post_status(client, alice, "Which one?", poll=poll)
    ids["polled"], ids["poll"] = polled["id"], polled["poll"]["id"]
    await _ok(client, "POST", f"/api/v1/polls/{ids['poll']}/votes", bob, json={"choices": [1]})
    reply = await post_status(
        client, bob, "@alice nice @carol", in_reply_to_id=with_media["id"], language="en"
    )
    ids["reply"] = reply["id"]
    for verb in ("favourite", "reblog", "bookmark"):
        await _ok(client, "POST", f"/api/v1/statuses/{with_media['id']}/{verb}", bob)
    await _ok(client, "POST", f"/api/v1/statuses/{polled['id']}/favourite", carol)
    direct = await post_status(client, alice, "@bob just us", visibility="direct")
    ids["direct"] = direct["id"]
    await post_status(client, carol, "Followers only", visibility="private")
    await post_status(client, carol, "Quietly", visibility="unlisted")

    keyword = {"keyword": "spoiler", "whole_word": True}
    filter_body = {"title": "Spoilers", "context": ["home"], "keywords_attributes": [keyword]}
    ids["filter"] = (await _ok(client, "POST", "/api/v2/filters", alice, json=filter_body))["id"]
    made = await _ok(client, "POST", "/api/v1/lists", alice, data={"title": "Friends"})
    ids["list"] = made["id"]
    await _ok(
        client,
        "POST",
        f"/api/v1/lists/{made['id']}/accounts",
        alice,
        data={"account_ids[]": [ids["bob"]]},
    )
    marker = {"home": {"last_read_id": polled["id"]}}
    await _ok(client, "POST", "/api/v1/markers", alice, json=marker)
    await _ok(client, "POST", "/api/v1/connecthub/consents/analytics", alice)
    for number in range(statuses):
        await post_status(client, [alice, bob, carol][number % 3], f"Post number {number}")
    await settle(app)
    return Seeded(tokens, ids)


def reads(seeded: Seeded) -> list[tuple[str, str]]:
    """(who, URL): the reads whose answers must survive the move."""
    ids = seeded.ids
    return [
        ("alice", "/api/v1/accounts/verify_credentials"),
        ("alice", f"/api/v1/accounts/{ids['alice']}"),
        ("alice", f"/api/v1/accounts/{ids['alice']}/statuses"),
        ("alice", f"/api/v1/accounts/{ids['alice']}/followers"),
        ("alice", f"/api/v1/accounts/relationships?id[]={ids['bob']}&id[]={ids['carol']}"),
        ("alice", "/api/v1/timelines/home"),
        ("bob", "/api/v1/timelines/home"),
        ("alice", "/api/v1/timelines/public"),
        ("alice", "/api/v1/timelines/tag/squares"),
        ("alice", f"/api/v1/timelines/list/{ids['list']}"),
        ("alice", f"/api/v1/statuses/{ids['with_media']}"),
        ("alice", f"/api/v1/statuses/{ids['with_media']}/context"),
        ("bob", f"/api/v1/statuses/{ids['polled']}"),
        ("bob", f"/api/v1/polls/{ids['poll']}"),
        ("alice", "/api/v1/notifications"),
        ("alice", "/api/v1/conversations"),
        ("bob", "/api/v1/conversations"),
        ("alice", "/api/v2/filters"),
        ("alice", "/api/v1/lists"),
        ("alice", f"/api/v1/lists/{ids['list']}/accounts"),
        ("alice", "/api/v1/markers?timeline[]=home"),
        ("bob", "/api/v1/bookmarks"),
        ("bob", "/api/v1/favourites"),
        ("alice", "/api/v1/connecthub/consents"),
    ]


async def answers(client: httpx.AsyncClient, seeded: Seeded) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for who, url in reads(seeded):
        response = await client.get(url, headers=auth(seeded.tokens[who]))
        assert response.status_code == 200, (url, response.status_code, response.text)
        found[f"{who} {url}"] = response.json()
    return found
