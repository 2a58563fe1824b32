"""Reading notifications: filters, pagination, one, dismiss, clear, unread count, scopes,
the stream event, and a query count independent of the page size."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from connecthub import channels
from tests.factories import create_token
from tests.notifications.support import (
    notifications,
    set_notifications_marker,
    status_action,
    types_of,
)
from tests.social_factories import auth, post_status, user_with_token
from tests.statuses.support import counting_queries


async def _mixed(app: FastAPI, client: httpx.AsyncClient) -> tuple[str, str, int, int]:
    """alice gets: a mention from bob, a favourite from carol, a reblog from bob."""
    _alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    await post_status(client, bob_token, "hey @alice")
    status = await post_status(client, alice_token, "a post")
    await status_action(client, carol_token, status["id"], "favourite")
    await status_action(client, bob_token, status["id"], "reblog")
    return alice_token, status["id"], bob.id, carol.id


async def test_filters(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice_token, _status_id, bob_id, carol_id = await _mixed(app, client)
    assert await types_of(client, alice_token) == ["reblog", "favourite", "mention"]
    assert await types_of(client, alice_token, **{"types[]": ["mention", "reblog"]}) == [
        "reblog",
        "mention",
    ]
    assert await types_of(client, alice_token, **{"exclude_types[]": ["reblog"]}) == [
        "favourite",
        "mention",
    ]
    assert await types_of(client, alice_token, account_id=str(bob_id)) == ["reblog", "mention"]
    assert await types_of(client, alice_token, account_id=str(carol_id)) == ["favourite"]
    # Unknown types are ignored in exclusions and match nothing when asked for alone.
    assert len(await notifications(client, alice_token, **{"exclude_types[]": ["nope"]})) == 3
    assert await notifications(client, alice_token, **{"types[]": ["nope"]}) == []
    bad = await client.get(
        "/api/v1/notifications", params={"account_id": "x"}, headers=auth(alice_token)
    )
    assert bad.status_code == 422
    assert "account_id" in bad.json()["error"]


async def test_pagination_with_link_headers(app: FastAPI, client: httpx.AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    for index in range(5):
        await post_status(client, bob_token, f"@alice number {index}")

    first = await client.get(
        "/api/v1/notifications", params={"limit": 2}, headers=auth(alice_token)
    )
    assert first.status_code == 200
    link = first.headers["link"]
    assert link.index('rel="next"') < link.index('rel="prev"')
    assert "number 4" in first.json()[0]["status"]["content"]
    seen = [n["id"] for n in first.json()]
    next_url = first.links["next"]["url"]
    while next_url:
        page = await client.get(next_url, headers=auth(alice_token))
        assert page.status_code == 200
        seen += [n["id"] for n in page.json()]
        next_url = page.links.get("next", {}).get("url") if page.json() else None
    assert len(seen) == len(set(seen)) == 5
    assert seen == sorted(seen, key=int, reverse=True)

    newer = await notifications(client, alice_token, min_id=seen[3], limit=1)
    assert [n["id"] for n in newer] == [seen[2]]
    assert [n["id"] for n in await notifications(client, alice_token, since_id=seen[1])] == [
        seen[0]
    ]


async def test_get_dismiss_and_clear(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice_token, _status_id, _bob_id, _carol_id = await _mixed(app, client)
    _dave, dave_token = await user_with_token(app, "dave")
    found = await notifications(client, alice_token)

    one = await client.get(f"/api/v1/notifications/{found[1]['id']}", headers=auth(alice_token))
    assert one.status_code == 200
    assert one.json() == found[1]
    # Another account's notification does not exist for the caller.
    other = await client.get(f"/api/v1/notifications/{found[1]['id']}", headers=auth(dave_token))
    assert other.status_code == 404
    not_theirs = await client.post(
        f"/api/v1/notifications/{found[1]['id']}/dismiss", headers=auth(dave_token)
    )
    assert not_theirs.status_code == 404
    assert (
        await client.get("/api/v1/notifications/abc", headers=auth(alice_token))
    ).status_code == 404

    dismissed = await client.post(
        f"/api/v1/notifications/{found[1]['id']}/dismiss", headers=auth(alice_token)
    )
    assert dismissed.status_code == 200
    assert dismissed.json() == {}
    assert [n["id"] for n in await notifications(client, alice_token)] == [
        found[0]["id"],
        found[2]["id"],
    ]

    cleared = await client.post("/api/v1/notifications/clear", headers=auth(alice_token))
    assert cleared.status_code == 200
    assert await notifications(client, alice_token) == []


async def test_unread_count_follows_the_marker(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice_token, _status_id, _bob_id, _carol_id = await _mixed(app, client)

    async def unread(**params: str) -> int:
        response = await client.get(
            "/api/v1/notifications/unread_count", params=params, headers=auth(alice_token)
        )
        assert response.status_code == 200, response.text
        return int(response.json()["count"])

    assert await unread() == 3
    assert await unread(limit="2") == 2
    assert await unread(**{"types[]": "mention"}) == 1
    found = await notifications(client, alice_token)
    await set_notifications_marker(client, alice_token, found[1]["id"])
    assert await unread() == 1
    await set_notifications_marker(client, alice_token, found[0]["id"])
    assert await unread() == 0


async def test_scopes(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    statuses_only = await create_token(app, alice.id, scopes=frozenset({"read:statuses"}))
    denied = await client.get("/api/v1/notifications", headers=auth(statuses_only))
    assert denied.status_code == 403
    read_only = await create_token(app, alice.id, scopes=frozenset({"read:notifications"}))
    assert (await client.get("/api/v1/notifications", headers=auth(read_only))).status_code == 200
    write = await client.post("/api/v1/notifications/clear", headers=auth(read_only))
    assert write.status_code == 403
    anonymous = await client.get("/api/v1/notifications")
    assert anonymous.status_code == 401
    assert (
        await client.post("/api/v1/notifications/clear", headers=auth(alice_token))
    ).status_code == 200


async def test_published_to_the_recipient_stream(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    subscription = await app.state.engines.events.subscribe(channels.user_channel(alice.id))
    try:
        status = await post_status(client, bob_token, "psst @alice")
        event = await asyncio.wait_for(subscription.queue.get(), timeout=10)
    finally:
        await subscription.close()
    assert event["event"] == "notification"
    [listed] = await notifications(client, alice_token)
    assert event["payload"] == listed
    assert event["payload"]["status"]["id"] == status["id"]


@pytest.mark.slow
async def test_query_count_does_not_grow_with_the_page(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    senders = [await user_with_token(app, f"sender{i}") for i in range(4)]
    for index in range(20):
        _account, token = senders[index % 4]
        status = await post_status(client, token, f"@alice hello {index}")
        if index % 2:
            await status_action(client, alice_token, status["id"], "favourite")

    async def statements(limit: int) -> int:
        with counting_queries(app) as seen:
            assert len(await notifications(client, alice_token, limit=limit)) == limit
        return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])

    await notifications(client, alice_token)  # warm: the viewer's filter rules get cached
    assert await statements(5) == await statements(20)
