"""Deletion, verified: an account holding every kind of data is erased, then EVERY table
of the metadata (a new table is covered by itself), the whole cache keyspace (Redis in a
distributed run: keys and values; the process cache embedded) and the media store (an S3
bucket or the media directory) are searched for its id, its statuses' ids and its texts.
Only the tombstone the law allows remains: the `accounts` row (id, username, dates) and
the `account_deletions` record."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from connecthub.accounts.models import Account
from connecthub.infra.cache import MemoryCache
from connecthub.infra.db import Base
from connecthub.infra.rate_limiters import MemoryRateLimiter
from connecthub.infra.windows import MemoryWindowCounter
from connecthub.media.models import MediaAttachment
from connecthub.portability import tasks as portability_tasks
from connecthub.statuses.models import Status
from tests.conftest import TestEnv as Env
from tests.conftest import running_app
from tests.media.conftest import SeaweedFS, Store, seaweedfs, store  # noqa: F401
from tests.media.files import png
from tests.media.support import all_stored_keys
from tests.portability.support import ok, rich_account
from tests.privacy.support import ask_deletion, wait_erased
from tests.push.support import Device
from tests.social_factories import auth, post_status, user_with_token

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)

MARK = "qzxv"  # in every text the account writes (texts of the others never hold it)
# Where the erased account's id may stay, and why (docs/privacy.md "What is kept"): the
# tombstone, the record that the erasure was asked for and done, and its two entries in
# the hash-chained audit log (ids only: their texts are searched like every other row).
TOMBSTONE = {("accounts", "id"), ("account_deletions", "account_id")}
ERASURE_AUDIT = {"request_erasure", "erasure_completed"}


def _allowed(table: str, row: Any, alice_id: int, own_status_ids: set[int]) -> bool:
    """Rows that may still hold one of the ids, each for a stated reason."""
    if table == "audit_log":
        return row["action"] in ERASURE_AUDIT
    if table == "job_outbox":
        # A delayed job not yet due (a day-long media expiry): its payload is an id whose
        # row is gone, and the job finds nothing when it runs.
        return bool(row["delay_ms"])
    if table == "account_conversations":
        # Someone else's view of the messages they sent: their record of whom they wrote.
        return row["account_id"] != alice_id and row["last_status_id"] not in own_status_ids
    return False


def _hits(value: Any, needles: set[str], ids: set[int]) -> bool:
    if value is None or isinstance(value, bool | float | datetime | date):
        return False
    if isinstance(value, int):
        return value in ids
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, default=str)
    return any(needle in text for needle in needles)


async def _database_findings(
    app: FastAPI, needles: set[str], ids: set[int], alice_id: int, status_ids: set[int]
) -> list[str]:
    found = []
    async with app.state.engines.db.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                for column, value in row.items():
                    if not _hits(value, needles, ids) or (table.name, column) in TOMBSTONE:
                        continue
                    if MARK in str(value) or not _allowed(table.name, row, alice_id, status_ids):
                        found.append(f"{table.name}.{column} = {str(value)[:120]!r}")
    return found


async def _redis_findings(
    app: FastAPI, prefix: str, needles: set[str], delayed_ids: set[str]
) -> list[str]:
    """Every key under the test's prefix, its name and its value, whatever its type.
    `delayed_ids` may stay in the job queue's keys: a delayed job not yet due (an upload's
    day-long expiry) names an id whose row is gone, and finds nothing when it runs."""
    redis = app.state.engines.redis
    found = []
    async for raw in redis.scan_iter(match=f"{prefix}*", count=500):
        key = raw.decode() if isinstance(raw, bytes) else str(raw)
        kind = await redis.type(raw)
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        if kind == "string":
            value: Any = await redis.get(raw)
        elif kind == "hash":
            value = await redis.hgetall(raw)
        elif kind == "list":
            value = await redis.lrange(raw, 0, -1)
        elif kind == "set":
            value = await redis.smembers(raw)
        elif kind == "zset":
            value = await redis.zrange(raw, 0, -1, withscores=True)
        elif kind == "stream":
            value = await redis.xrange(raw)
        else:
            value = None
        text = repr(value) if value is not None else ""
        for needle in needles:
            if key.startswith(f"{prefix}jobs:") and needle in delayed_ids:
                continue
            if needle in key or needle in text:
                found.append(f"{kind} {key}: {needle} in {text[:160]}")
                break
    return found


def _in_process_findings(app: FastAPI, needles: set[str]) -> list[str]:
    """Embedded: the process cache (keys and values), the spam counters' and the rate
    limiter's keys."""
    engines = app.state.engines
    cache = engines.cache
    assert isinstance(cache, MemoryCache)
    found = []
    for key, (_expires, value) in list(cache._entries.items()):
        text = value.decode("utf-8", "replace")
        hit = next((n for n in needles if n in key or n in text), None)
        if hit is not None:
            found.append(f"{key}: {hit} in {text[:160]}")
    assert isinstance(engines.windows, MemoryWindowCounter)
    assert isinstance(engines.ratelimiter, MemoryRateLimiter)
    keys = [k[0] for k in engines.windows._counts] + [k[1] for k in engines.ratelimiter._entries]
    found += [f"in-process key {key}" for key in keys if any(n in key for n in needles)]
    return found


async def _every_kind_of_data(app: FastAPI, client: httpx.AsyncClient) -> dict[str, Any]:
    cast = await rich_account(app, client)
    alice, token = cast.alice, cast.alice_token
    h = auth(token)
    bob, bob_token = cast.others["bob"]
    dave, dave_token = cast.others["dave"]
    # Texts of her own with the mark: a post, a reply to Bob, a direct message, a note.
    mine = await post_status(client, token, f"{MARK} my own post #{MARK}tag")
    await post_status(client, token, f"{MARK} replying", in_reply_to_id=cast.statuses["bob"]["id"])
    await post_status(client, token, f"@dave {MARK} just us", visibility="direct")
    await ok(await client.post(f"/api/v1/statuses/{mine['id']}/pin", headers=h))
    await ok(
        await client.post(
            f"/api/v1/accounts/{bob.id}/note", json={"comment": f"{MARK} note"}, headers=h
        )
    )
    await ok(await client.post(f"/api/v1/accounts/{bob.id}/pin", headers=h))
    await ok(await client.post(f"/api/v1/tags/{MARK}tag/follow", headers=h))
    await ok(
        await client.patch(
            "/api/v1/accounts/update_credentials",
            files={"avatar": ("a.png", png(32, 32, seed=3), "image/png")},
            data={"display_name": f"{MARK} Alice", "note": f"{MARK} bio"},
            headers=h,
        )
    )
    # Others act on her: notifications, a favourite and a boost, a mention, a follow.
    await ok(
        await client.post(f"/api/v1/statuses/{mine['id']}/favourite", headers=auth(dave_token))
    )
    await ok(await client.post(f"/api/v1/statuses/{mine['id']}/reblog", headers=auth(dave_token)))
    await ok(await client.post(f"/api/v1/statuses/{mine['id']}/bookmark", headers=auth(bob_token)))
    await post_status(client, bob_token, f"@alice hello {dave.id}")
    # A scheduled status, a push subscription, consent to analytics (and its events),
    # a report she filed and one about her, an export.
    await ok(
        await client.post(
            "/api/v1/statuses",
            json={"status": f"{MARK} later", "scheduled_at": "2099-01-01T00:00:00Z"},
            headers=h,
        )
    )
    await ok(
        await client.post(
            "/api/v1/push/subscription",
            json={
                "subscription": {"endpoint": "https://127.0.0.1:9/push", "keys": Device().keys()},
                "data": {"alerts": {"mention": True}},
            },
            headers=h,
        )
    )
    await ok(await client.post("/api/v1/connecthub/consents/analytics", headers=h))
    await post_status(client, token, f"{MARK} counted")
    await ok(
        await client.post(
            "/api/v1/reports",
            json={"account_id": str(bob.id), "comment": f"{MARK} report", "category": "spam"},
            headers=h,
        )
    )
    await ok(
        await client.post(
            "/api/v1/reports",
            json={"account_id": str(alice.id), "status_ids": [mine["id"]], "category": "spam"},
            headers=auth(bob_token),
        )
    )
    export = await ok(await client.post("/api/v1/exports", headers=h), 202)
    await portability_tasks.build(app.state.engines, int(export["id"]))
    # Reads that fill caches and timelines.
    for reader in (token, bob_token, dave_token):
        await ok(await client.get("/api/v1/timelines/home", headers=auth(reader)))
        await ok(await client.get(f"/api/v1/accounts/{alice.id}", headers=auth(reader)))
        await ok(await client.get(f"/api/v1/statuses/{mine['id']}", headers=auth(reader)))
    await ok(await client.get("/api/v1/notifications", headers=h))
    await ok(await client.get("/api/v1/conversations", headers=auth(dave_token)))
    return {"alice": alice, "token": token}


async def _wait_store(app: FastAPI, expected: set[str], seconds: float = 60) -> list[str]:
    """The store's keys once only `expected` are left (purges run through the queue)."""
    for _ in range(int(seconds * 10)):
        keys = await all_stored_keys(app)
        if set(keys) <= expected:
            return keys
        await asyncio.sleep(0.1)
    return await all_stored_keys(app)


@pytest.mark.slow
async def test_nothing_of_an_erased_account_is_left_anywhere(
    test_env: Env,
    store: Store,  # noqa: F811
) -> None:
    settings = {"jobs_in_server": True, "PUSH_ENDPOINT_TEST_HOSTS": "127.0.0.1", **store.overrides}
    async with running_app(test_env, **settings) as (app, client):
        # Someone else's media, which must stay.
        _other, other_token = await user_with_token(app, "keeper")
        await ok(
            await client.post(
                "/api/v2/media",
                files={"file": ("k.png", png(16, 16, seed=9), "image/png")},
                headers=auth(other_token),
            )
        )
        kept = set(await all_stored_keys(app))
        assert kept

        made = await _every_kind_of_data(app, client)
        alice: Account = made["alice"]
        async with app.state.engines.db.session() as session:
            status_ids = set(
                await session.scalars(select(Status.id).where(Status.account_id == alice.id))
            )
            media_ids = set(
                await session.scalars(
                    select(MediaAttachment.id).where(MediaAttachment.account_id == alice.id)
                )
            )
        assert len(status_ids) >= 8
        assert media_ids
        assert set(await all_stored_keys(app)) > kept

        assert (await ask_deletion(client, made["token"])).status_code == 202
        await wait_erased(app, alice.id, seconds=120)
        ids = {alice.id, *status_ids, *media_ids}
        needles = {str(i) for i in ids} | {MARK, "psst", "first words", "second words", "finale"}

        left = set(await _wait_store(app, kept))
        assert left == kept, f"still stored: {left - kept}"
        found: list[str] = []
        for _ in range(100):  # the outbox deletes acknowledged rows a moment later
            found = await _database_findings(app, needles, ids, alice.id, status_ids)
            if not found:
                break
            await asyncio.sleep(0.1)
        assert not found, "\n".join(found)
        engines = app.state.engines
        if engines.redis is not None:
            prefix = engines.settings.redis_key_prefix
            delayed = {str(i) for i in media_ids}
            cached = await _redis_findings(app, prefix, needles, delayed)
        else:
            cached = _in_process_findings(app, needles)
        assert not cached, "\n".join(cached)
        async with engines.db.session() as session:
            tombstone = await session.get(Account, alice.id)
        assert tombstone is not None
        assert tombstone.username == "alice"
        assert MARK not in (tombstone.display_name + tombstone.note)
