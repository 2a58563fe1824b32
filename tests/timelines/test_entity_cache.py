"""The hot entity cache (infra/entity_cache.py): timelines render cached accounts and
status parts, and every change shows on the very next read, on both engines."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import update

from connecthub.accounts.models import Account
from tests.social_factories import auth, post_status, user_with_token
from tests.statuses.support import counting_queries
from tests.timelines.support import settle


async def _home(app: FastAPI, client: AsyncClient, token: str) -> list[dict[str, Any]]:
    await settle(app)
    response = await client.get("/api/v1/timelines/home", headers=auth(token))
    assert response.status_code == 200, response.text
    return list(response.json())


async def _reader_of(app: FastAPI, client: AsyncClient, author_id: int) -> str:
    _bob, bob_token = await user_with_token(app, "bob")
    followed = await client.post(f"/api/v1/accounts/{author_id}/follow", headers=auth(bob_token))
    assert followed.status_code == 200, followed.text
    return bob_token


async def test_a_warm_read_takes_accounts_and_parts_from_the_cache(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob_token = await _reader_of(app, client, alice.id)
    await post_status(client, alice_token, "hello @bob #kites")
    first = await _home(app, client, bob_token)
    with counting_queries(app) as statements:
        again = await _home(app, client, bob_token)
    assert again == first
    touched = " ".join(" ".join(statements).lower().split())
    assert "select mentions.status_id" not in touched  # the render queries of a miss
    assert "select status_tags.status_id" not in touched
    assert "users.role" not in touched


async def test_an_edit_shows_at_once(app: FastAPI, client: AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob_token = await _reader_of(app, client, alice.id)
    posted = await post_status(client, alice_token, "first #one")
    assert [t["name"] for t in (await _home(app, client, bob_token))[0]["tags"]] == ["one"]
    edited = await client.put(
        f"/api/v1/statuses/{posted['id']}",
        json={"status": "second #two @bob"},
        headers=auth(alice_token),
    )
    assert edited.status_code == 200, edited.text
    shown = (await _home(app, client, bob_token))[0]
    assert shown["content"].startswith("<p>second")
    assert [t["name"] for t in shown["tags"]] == ["two"]
    assert [m["username"] for m in shown["mentions"]] == ["bob"]
    assert shown["edited_at"] is not None


async def test_profile_updates_counts_and_deletes_show_at_once(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob_token = await _reader_of(app, client, alice.id)
    _carol, carol_token = await user_with_token(app, "carol")
    first = await post_status(client, alice_token, "one")
    shown = (await _home(app, client, bob_token))[0]
    assert shown["account"]["statuses_count"] == 1

    updated = await client.patch(
        "/api/v1/accounts/update_credentials",
        json={"display_name": "Alice A.", "note": "kites"},
        headers=auth(alice_token),
    )
    assert updated.status_code == 200, updated.text
    shown = (await _home(app, client, bob_token))[0]
    assert shown["account"]["display_name"] == "Alice A."
    assert shown["account"]["note"] == "<p>kites</p>"

    await post_status(client, alice_token, "two")
    faved = await client.post(
        f"/api/v1/statuses/{first['id']}/favourite", headers=auth(carol_token)
    )
    assert faved.status_code == 200, faved.text
    page = await _home(app, client, bob_token)
    assert [s["account"]["statuses_count"] for s in page] == [2, 2]
    assert page[1]["favourites_count"] == 1
    assert page[0]["account"]["followers_count"] == 1

    deleted = await client.delete(f"/api/v1/statuses/{first['id']}", headers=auth(alice_token))
    assert deleted.status_code == 200, deleted.text
    page = await _home(app, client, bob_token)
    assert [s["account"]["statuses_count"] for s in page] == [1]


async def test_a_bulk_update_drops_every_cached_account(app: FastAPI, client: AsyncClient) -> None:
    """A statement whose rows cannot be named (no id in its WHERE) retires the whole kind."""
    alice, alice_token = await user_with_token(app, "alice")
    bob_token = await _reader_of(app, client, alice.id)
    await post_status(client, alice_token, "hi")
    assert (await _home(app, client, bob_token))[0]["account"]["display_name"] == ""
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            update(Account).where(Account.locked.is_(False)).values(display_name="Someone")
        )
    assert (await _home(app, client, bob_token))[0]["account"]["display_name"] == "Someone"


async def test_a_rolled_back_change_keeps_the_cache(app: FastAPI, client: AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob_token = await _reader_of(app, client, alice.id)
    await post_status(client, alice_token, "hi")
    before = await _home(app, client, bob_token)
    async with app.state.engines.db.session() as session:
        await session.execute(
            update(Account).where(Account.id == alice.id).values(display_name="Never")
        )
        await session.rollback()
    assert await _home(app, client, bob_token) == before


async def test_a_stale_fill_after_the_invalidation_is_dropped_again(
    app: FastAPI, client: AsyncClient
) -> None:
    """A reader that rendered the old row before a write committed may store it after the
    write's invalidation; the repeated invalidation removes it shortly after."""
    alice, alice_token = await user_with_token(app, "alice")
    bob_token = await _reader_of(app, client, alice.id)
    await post_status(client, alice_token, "hello")
    assert (await _home(app, client, bob_token))[0]["account"]["display_name"] == ""
    cache = app.state.engines.db.entity_cache
    cache.repeat_seconds = 0.3  # the tests' settings repeat at once; this one needs a gap
    stale, generation = (await cache.get_many({"account": [alice.id]}))["account"]
    assert alice.id in stale

    renamed = await client.patch(
        "/api/v1/accounts/update_credentials",
        data={"display_name": "Alice Liddell"},
        headers=auth(alice_token),
    )
    assert renamed.status_code == 200, renamed.text
    await cache.put_many("account", stale, generation)  # the slow reader's late fill
    held = []
    for _ in range(50):
        held.append(alice.id in (await cache.get_many({"account": [alice.id]}))["account"][0])
        if not held[-1]:
            break
        await asyncio.sleep(0.1)
    assert held[-1] is False, held
    assert (await _home(app, client, bob_token))[0]["account"]["display_name"] == "Alice Liddell"
