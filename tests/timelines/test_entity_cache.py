"""The hot entity cache (infra/entity_cache.py): timelines render cached accounts and
status parts, and every change shows on the very next read, on both engines."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import delete, update

from connecthub.accounts.models import Account
from connecthub.infra import entity_cache
from connecthub.statuses.models import Status, StatusTag
from connecthub.statuses.serializers import status_entity
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


async def _a_post_bob_has_read(app: FastAPI, client: AsyncClient) -> tuple[Account, str]:
    """alice posts, bob (following her) reads it: her account entity is cached now."""
    alice, alice_token = await user_with_token(app, "alice")
    bob_token = await _reader_of(app, client, alice.id)
    await post_status(client, alice_token, "hi")
    assert (await _home(app, client, bob_token))[0]["account"]["display_name"] == ""
    return alice, bob_token


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
    _alice, bob_token = await _a_post_bob_has_read(app, client)
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
    """A reader that rendered the old row before a write committed and stores it after the
    write's invalidation is refused (the invalidation's mark; no repeat without replicas)."""
    alice, alice_token = await user_with_token(app, "alice")
    bob_token = await _reader_of(app, client, alice.id)
    await post_status(client, alice_token, "hello")
    assert (await _home(app, client, bob_token))[0]["account"]["display_name"] == ""
    cache = app.state.engines.db.entity_cache
    assert cache.repeat_seconds is None
    stale, generation = (await cache.get_many({"account": [alice.id]}))["account"]
    assert alice.id in stale

    renamed = await client.patch(
        "/api/v1/accounts/update_credentials",
        data={"display_name": "Alice Liddell"},
        headers=auth(alice_token),
    )
    assert renamed.status_code == 200, renamed.text
    await cache.put_many("account", stale, generation)  # the slow reader's late fill
    assert alice.id not in (await cache.get_many({"account": [alice.id]}))["account"][0]
    assert (await _home(app, client, bob_token))[0]["account"]["display_name"] == "Alice Liddell"


async def test_a_released_savepoint_is_not_a_commit(app: FastAPI, client: AsyncClient) -> None:
    """SQLAlchemy reports a SAVEPOINT's release as a commit; the cache must wait for the
    real one: until then the session's changes are nobody else's, and it must not read or
    fill the shared cache."""
    alice, bob_token = await _a_post_bob_has_read(app, client)
    async with app.state.engines.db.session() as session:
        await session.execute(
            update(Account).where(Account.id == alice.id).values(display_name="Pending")
        )
        async with session.begin_nested():
            pass
        assert entity_cache.of(session) is None  # still uncommitted changes
        assert (await _home(app, client, bob_token))[0]["account"]["display_name"] == ""
        await session.commit()
        await entity_cache.settle(session)
    assert (await _home(app, client, bob_token))[0]["account"]["display_name"] == "Pending"


async def test_an_uncommitted_session_renders_a_status_once_and_sees_its_own_changes(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    posted = await post_status(client, alice_token, "first #one")
    await settle(app)  # the post's own jobs render too; they are not what is counted
    settings = app.state.engines.settings
    async with app.state.engines.db.session() as session:
        await session.execute(
            update(Account).where(Account.id == alice.id).values(display_name="Draft")
        )
        status = await session.get(Status, int(posted["id"]))
        assert status is not None
        with counting_queries(app) as statements:
            first = await status_entity(session, status, alice.id, settings)
            again = await status_entity(session, status, alice.id, settings)
        assert again == first
        assert first["account"]["display_name"] == "Draft"
        joined = " ".join(" ".join(statements).lower().split())
        assert joined.count("select mentions.status_id") == 1  # the second came from memory
        assert joined.count("select status_tags.status_id") == 1

        status.content = "<p>second</p>"
        await session.execute(
            update(Account).where(Account.id == alice.id).values(display_name="Final")
        )
        await session.execute(delete(StatusTag).where(StatusTag.status_id == status.id))
        await session.flush()
        changed = await status_entity(session, status, alice.id, settings)
        assert changed["account"]["display_name"] == "Final"
        assert changed["content"] == "<p>second</p>"
        assert changed["tags"] == []  # the status row changed: its parts were rendered again
        await session.rollback()
