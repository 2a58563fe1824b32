"""Grouped notifications (API v2) through the HTTP API: how notifications group, the
deduplicated results, `grouped_types[]`, `expand_accounts`, the v1 filters, pagination and
its Link header, one group, its accounts, dismissing it, the unread count of groups,
scopes, another person's groups, and a page's statement count."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from connecthub import channels
from connecthub.clock import utcnow
from connecthub.notifications import grouping
from connecthub.notifications.models import Notification
from tests.factories import create_token
from tests.notifications.support import (
    account_action,
    notifications,
    set_notifications_marker,
    status_action,
)
from tests.social_factories import auth, post_status, user_with_token
from tests.statuses.support import block, counting_queries

GROUP_KEYS = {
    "group_key",
    "notifications_count",
    "type",
    "most_recent_notification_id",
    "sample_account_ids",
}
PAGE_KEYS = {"page_min_id", "page_max_id", "latest_page_notification_at"}


async def grouped(
    client: httpx.AsyncClient, token: str, status: int = 200, **params: Any
) -> dict[str, Any]:
    response = await client.get("/api/v2/notifications", params=params, headers=auth(token))
    assert response.status_code == status, response.text
    return dict(response.json())


def by_type(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["type"]: g for g in results["notification_groups"]}


class World:
    """alice's post favourited by bob, carol and dave, boosted by bob and carol; bob and
    carol follow alice; then dave mentions her (in that order)."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app, self.client = app, client

    async def build(self) -> World:
        app, client = self.app, self.client
        self.alice, self.token = await user_with_token(app, "alice")
        self.bob, bob_token = await user_with_token(app, "bob")
        self.carol, carol_token = await user_with_token(app, "carol")
        self.dave, dave_token = await user_with_token(app, "dave")
        self.status = await post_status(client, self.token, "a post")
        for token in (bob_token, carol_token, dave_token):
            await status_action(client, token, self.status["id"], "favourite")
        for token in (bob_token, carol_token):
            await status_action(client, token, self.status["id"], "reblog")
        for token in (bob_token, carol_token):
            await account_action(client, token, self.alice.id, "follow")
        self.mention = await post_status(client, dave_token, "hi @alice")
        return self


async def test_groups_and_deduplicated_results(app: FastAPI, client: httpx.AsyncClient) -> None:
    w = await World(app, client).build()
    bob, carol, dave = str(w.bob.id), str(w.carol.id), str(w.dave.id)
    results = await grouped(client, w.token)
    assert set(results) == {"accounts", "statuses", "notification_groups"}
    groups = results["notification_groups"]
    assert [g["type"] for g in groups] == ["mention", "follow", "reblog", "favourite"]
    for group in groups:
        status_keys = {"status_id"} if group["type"] != "follow" else set()
        assert set(group) == GROUP_KEYS | PAGE_KEYS | status_keys
    kinds = by_type(results)
    assert [kinds[t]["notifications_count"] for t in ("favourite", "reblog", "follow")] == [3, 2, 2]
    # The newest accounts first; the status once in `statuses`, once per account in `accounts`.
    assert kinds["favourite"]["sample_account_ids"] == [dave, carol, bob]
    assert kinds["follow"]["sample_account_ids"] == [carol, bob]
    assert kinds["favourite"]["status_id"] == kinds["reblog"]["status_id"] == w.status["id"]
    assert kinds["mention"]["status_id"] == w.mention["id"]
    assert [s["id"] for s in results["statuses"]] == [w.mention["id"], w.status["id"]]
    assert [a["id"] for a in results["accounts"]] == [dave, carol, bob]
    bucket = int(utcnow().timestamp()) // 3600
    assert kinds["favourite"]["group_key"] in {
        f"favourite-{w.status['id']}-{b}" for b in (bucket, bucket - 1)
    }
    assert kinds["follow"]["group_key"].startswith("follow-")
    # The v1 list carries the same keys, and the group's figures match its notifications.
    v1 = await notifications(client, w.token)
    favourites = [n for n in v1 if n["type"] == "favourite"]
    assert {n["group_key"] for n in favourites} == {kinds["favourite"]["group_key"]}
    assert kinds["favourite"]["most_recent_notification_id"] == favourites[0]["id"]
    assert kinds["favourite"]["page_max_id"] == favourites[0]["id"]
    assert kinds["favourite"]["latest_page_notification_at"] == favourites[0]["created_at"]
    [mention] = [n for n in v1 if n["type"] == "mention"]
    assert kinds["mention"]["group_key"] == f"ungrouped-{mention['id']}"
    assert kinds["mention"]["page_min_id"] == kinds["mention"]["page_max_id"] == mention["id"]


@pytest.mark.slow
async def test_grouped_types_and_filters(app: FastAPI, client: httpx.AsyncClient) -> None:
    w = await World(app, client).build()
    only_favourites = await grouped(client, w.token, **{"grouped_types[]": ["favourite"]})
    assert [g["type"] for g in only_favourites["notification_groups"]] == [
        "mention",
        "follow",
        "follow",
        "reblog",
        "reblog",
        "favourite",
    ]
    for group in only_favourites["notification_groups"][:-1]:
        assert group["group_key"].startswith("ungrouped-")
        assert group["notifications_count"] == 1
    # A type that never groups, alone: nothing groups.
    none = await grouped(client, w.token, **{"grouped_types[]": ["mention"]})
    assert len(none["notification_groups"]) == 8
    # The v1 list's filters, unchanged.
    typed = await grouped(client, w.token, **{"types[]": ["favourite", "follow"]})
    assert [g["type"] for g in typed["notification_groups"]] == ["follow", "favourite"]
    excluded = await grouped(client, w.token, **{"exclude_types[]": ["favourite", "reblog"]})
    assert [g["type"] for g in excluded["notification_groups"]] == ["mention", "follow"]
    from_dave = await grouped(client, w.token, account_id=str(w.dave.id))
    assert [g["type"] for g in from_dave["notification_groups"]] == ["mention", "favourite"]
    bad = await grouped(client, w.token, 422, account_id="x")
    assert "account_id" in bad["error"]
    bad = await grouped(client, w.token, 422, include_filtered="maybe")
    assert "include_filtered" in bad["error"]
    assert await grouped(client, w.token, include_filtered="true") == await grouped(client, w.token)
    # A blocked account's notifications leave its groups (as they leave the v1 list).
    await block(app, w.alice.id, w.dave.id)
    after = by_type(await grouped(client, w.token))
    assert "mention" not in after
    assert after["favourite"]["notifications_count"] == 2
    assert after["favourite"]["sample_account_ids"] == [str(w.carol.id), str(w.bob.id)]


async def test_expand_accounts(app: FastAPI, client: httpx.AsyncClient) -> None:
    w = await World(app, client).build()
    bob, carol, dave = str(w.bob.id), str(w.carol.id), str(w.dave.id)
    full = await grouped(client, w.token, expand_accounts="full")
    assert "partial_accounts" not in full
    partial = await grouped(client, w.token, expand_accounts="partial_avatars")
    # The first account of each group in full, the others (not already there) partial.
    assert [a["id"] for a in partial["accounts"]] == [dave, carol]
    assert [a["id"] for a in partial["partial_accounts"]] == [bob]
    assert set(partial["partial_accounts"][0]) == {
        "id",
        "acct",
        "url",
        "avatar",
        "avatar_static",
        "locked",
        "bot",
    }
    bad = await grouped(client, w.token, 400, expand_accounts="all")
    assert "expand_accounts" in bad["error"]


async def test_pagination_with_link_headers(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Mastodon's paging: the next page reads below the last group's notification, so a
    group whose older notifications lie there shows again, counted up to the page."""
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    _carol, carol_token = await user_with_token(app, "carol")
    posts = [await post_status(client, alice_token, f"post {i}") for i in range(3)]
    for post in posts:
        for token in (bob_token, carol_token):
            await status_action(client, token, post["id"], "favourite")
    response = await client.get(
        "/api/v2/notifications", params={"limit": "2"}, headers=auth(alice_token)
    )
    first = response.json()["notification_groups"]
    assert [g["status_id"] for g in first] == [posts[2]["id"], posts[1]["id"]]
    assert [g["notifications_count"] for g in first] == [2, 2]
    v1 = [n["id"] for n in await notifications(client, alice_token)]  # newest first
    # The page spans the notifications from the second group's newest to the first's.
    assert (first[0]["page_max_id"], first[0]["page_min_id"]) == (v1[0], v1[1])
    assert (first[1]["page_max_id"], first[1]["page_min_id"]) == (v1[2], v1[2])
    next_link = response.links["next"]["url"]
    assert f"max_id={v1[2]}" in next_link
    assert "limit=2" in next_link
    assert f"min_id={v1[0]}" in response.links["prev"]["url"]
    second = await client.get(next_link, headers=auth(alice_token))
    groups = second.json()["notification_groups"]
    assert [(g["status_id"], g["notifications_count"]) for g in groups] == [
        (posts[1]["id"], 1),
        (posts[0]["id"], 2),
    ]
    # Going back up from the oldest: min_id reads the groups just above it.
    up = await grouped(client, alice_token, min_id=v1[-1], limit="1")
    assert [g["status_id"] for g in up["notification_groups"]] == [posts[0]["id"]]
    assert up["notification_groups"][0]["notifications_count"] == 2
    empty = await client.get(
        "/api/v2/notifications", params={"max_id": v1[-1]}, headers=auth(alice_token)
    )
    assert empty.json()["notification_groups"] == []
    assert "link" not in empty.headers
    bad = await grouped(client, alice_token, 422, limit="0")
    assert "limit" in bad["error"]


@pytest.mark.slow
async def test_one_group_its_accounts_and_dismiss(app: FastAPI, client: httpx.AsyncClient) -> None:
    w = await World(app, client).build()
    kinds = by_type(await grouped(client, w.token))
    key = kinds["favourite"]["group_key"]
    response = await client.get(f"/api/v2/notifications/{key}", headers=auth(w.token))
    assert response.status_code == 200
    one = response.json()
    [group] = one["notification_groups"]
    assert set(group) == GROUP_KEYS | {"status_id"}  # no page figures for one group
    assert (group["group_key"], group["notifications_count"]) == (key, 3)
    assert [s["id"] for s in one["statuses"]] == [w.status["id"]]
    assert len(one["accounts"]) == 3
    # An `ungrouped-<id>` key names one notification, which answers as its group.
    v1 = await notifications(client, w.token, **{"types[]": ["favourite"]})
    by_id = await client.get(
        f"/api/v2/notifications/ungrouped-{v1[-1]['id']}", headers=auth(w.token)
    )
    assert by_id.json()["notification_groups"][0]["group_key"] == key
    mention_key = kinds["mention"]["group_key"]
    mention = await client.get(f"/api/v2/notifications/{mention_key}", headers=auth(w.token))
    assert mention.json()["notification_groups"][0]["group_key"] == mention_key
    for missing in ("favourite-1-1", "ungrouped-x", "ungrouped-1", "x" * 300):
        found = await client.get(f"/api/v2/notifications/{missing}", headers=auth(w.token))
        assert found.status_code == 404, missing

    accounts = await client.get(
        f"/api/v2/notifications/{key}/accounts", params={"limit": 2}, headers=auth(w.token)
    )
    assert [a["id"] for a in accounts.json()] == [str(w.dave.id), str(w.carol.id)]
    rest = await client.get(accounts.links["next"]["url"], headers=auth(w.token))
    assert [a["id"] for a in rest.json()] == [str(w.bob.id)]

    # Someone else: the same key names nothing of theirs, and dismissing it keeps alice's.
    _eve, eve_token = await user_with_token(app, "eve")
    assert (
        await client.get(f"/api/v2/notifications/{key}", headers=auth(eve_token))
    ).status_code == 404
    theirs = await client.get(f"/api/v2/notifications/{key}/accounts", headers=auth(eve_token))
    assert theirs.json() == []
    await client.post(f"/api/v2/notifications/{key}/dismiss", headers=auth(eve_token))
    assert by_type(await grouped(client, w.token))["favourite"]["notifications_count"] == 3

    dismissed = await client.post(f"/api/v2/notifications/{key}/dismiss", headers=auth(w.token))
    assert (dismissed.status_code, dismissed.json()) == (200, {})
    assert "favourite" not in by_type(await grouped(client, w.token))
    assert [n["type"] for n in await notifications(client, w.token)].count("favourite") == 0
    gone = await client.post(f"/api/v2/notifications/{key}/dismiss", headers=auth(w.token))
    assert gone.status_code == 200
    await client.post(f"/api/v2/notifications/{mention_key}/dismiss", headers=auth(w.token))
    assert "mention" not in by_type(await grouped(client, w.token))


@pytest.mark.slow
async def test_unread_count_of_groups(app: FastAPI, client: httpx.AsyncClient) -> None:
    w = await World(app, client).build()

    async def count(version: str, **params: Any) -> int:
        response = await client.get(
            f"/api/{version}/notifications/unread_count", params=params, headers=auth(w.token)
        )
        assert response.status_code == 200, response.text
        return int(response.json()["count"])

    assert await count("v2") == 4  # favourites, boosts, follows, the mention
    assert await count("v1") == 8
    assert await count("v2", limit=2) == 2
    assert await count("v2", **{"grouped_types[]": ["mention"]}) == 8
    assert await count("v2", **{"types[]": ["favourite", "follow"]}) == 2
    assert await count("v2", **{"exclude_types[]": ["mention"]}) == 3
    v1 = await notifications(client, w.token)
    await set_notifications_marker(client, w.token, v1[3]["id"])  # the follows and mention read
    assert await count("v2") == 2
    await set_notifications_marker(client, w.token, v1[0]["id"])
    assert await count("v2") == 0


@pytest.mark.slow
async def test_scopes(app: FastAPI, client: httpx.AsyncClient) -> None:
    w = await World(app, client).build()
    key = by_type(await grouped(client, w.token))["favourite"]["group_key"]
    statuses_only = await create_token(app, w.alice.id, scopes=frozenset({"read:statuses"}))
    read_only = await create_token(app, w.alice.id, scopes=frozenset({"read:notifications"}))
    for path in ("", "/unread_count", f"/{key}", f"/{key}/accounts"):
        url = f"/api/v2/notifications{path}"
        assert (await client.get(url, headers=auth(statuses_only))).status_code == 403, url
        assert (await client.get(url, headers=auth(read_only))).status_code == 200, url
        assert (await client.get(url)).status_code == 401, url
    dismiss = f"/api/v2/notifications/{key}/dismiss"
    assert (await client.post(dismiss, headers=auth(read_only))).status_code == 403


async def test_time_window(app: FastAPI, client: httpx.AsyncClient) -> None:
    """A group takes new notifications while it started less than 12 hours ago."""
    _alice, alice_token = await user_with_token(app, "alice")
    tokens = [(await user_with_token(app, name))[1] for name in ("bob", "carol", "dave")]
    post = await post_status(client, alice_token, "a post")
    await status_action(client, tokens[0], post["id"], "favourite")
    [first] = await notifications(client, alice_token)
    bucket = int(utcnow().timestamp()) // 3600

    async def start_group_hours_ago(hours: int) -> None:
        key = f"favourite-{post['id']}-{bucket - hours}"
        async with app.state.engines.db.transaction() as session:
            await session.execute(
                update(Notification)
                .where(Notification.id == int(first["id"]))
                .values(group_key=key)
            )

    await start_group_hours_ago(11)
    await status_action(client, tokens[1], post["id"], "favourite")
    [group] = (await grouped(client, alice_token))["notification_groups"]
    assert (group["group_key"], group["notifications_count"]) == (
        f"favourite-{post['id']}-{bucket - 11}",
        2,
    )
    await start_group_hours_ago(12)  # both notifications now in a group 12 hours old
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            update(Notification)
            .where(Notification.group_key.is_not(None))
            .values(group_key=f"favourite-{post['id']}-{bucket - 12}")
        )
    await status_action(client, tokens[2], post["id"], "favourite")
    groups = (await grouped(client, alice_token))["notification_groups"]
    assert [(g["group_key"], g["notifications_count"]) for g in groups] == [
        (f"favourite-{post['id']}-{bucket}", 1),
        (f"favourite-{post['id']}-{bucket - 12}", 2),
    ]


async def test_stream_event_carries_the_group_key(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Mastodon 4.3 streams the v1 Notification unchanged: its `group_key` is what grouped
    clients merge the event into a group by."""
    alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    post = await post_status(client, alice_token, "a post")
    subscription = await app.state.engines.events.subscribe(channels.user_channel(alice.id))
    try:
        await status_action(client, bob_token, post["id"], "favourite")
        event = await asyncio.wait_for(subscription.queue.get(), timeout=10)
        while event["event"] != "notification":  # her own post's `update` may come first
            event = await asyncio.wait_for(subscription.queue.get(), timeout=10)
    finally:
        await subscription.close()
    [group] = (await grouped(client, alice_token))["notification_groups"]
    assert event["payload"]["group_key"] == group["group_key"]
    assert group["group_key"].startswith(f"favourite-{post['id']}-")
    assert event["payload"] == (await notifications(client, alice_token))[0]


def test_group_key_rule() -> None:
    now = utcnow()
    bucket = int(now.timestamp()) // 3600
    keys = grouping.reusable_keys("follow", now)
    assert keys[0] == f"follow-{bucket - 11}"
    assert keys[-1] == f"follow-{bucket}"
    assert grouping.group_key("follow", now, None) == f"follow-{bucket}"
    assert grouping.group_key("follow", now, f"follow-{bucket - 5}") == f"follow-{bucket - 5}"
    assert grouping.key_prefix("mention", 1) is None
    assert grouping.key_prefix("reblog", 7) == "reblog-7"
    assert grouping.grouped_types([]) == grouping.GROUPABLE_TYPES
    assert grouping.grouped_types(["reblog", "nope"]) == ("reblog",)
    assert grouping.ungrouped_id("ungrouped-12") == 12
    assert grouping.ungrouped_id("ungrouped-x") == 0
    assert grouping.ungrouped_id("follow-3") is None


@pytest.mark.slow
async def test_page_statement_count(app: FastAPI, client: httpx.AsyncClient) -> None:
    """A page of groups costs five statements whatever its size, once the statuses'
    renderings and the viewer's filter rules are cached: the page, the groups' newest
    members, the statuses' rows, the viewer's flags on them, the accounts."""
    _alice, alice_token = await user_with_token(app, "alice")
    users = [await user_with_token(app, f"fan{i}") for i in range(4)]
    for i in range(12):
        post = await post_status(client, alice_token, f"post {i}")
        for _account, token in users[: 1 + i % 4]:
            await status_action(client, token, post["id"], "favourite")

    async def statements(limit: int) -> int:
        with counting_queries(app) as seen:
            results = await grouped(client, alice_token, limit=str(limit))
        assert len(results["notification_groups"]) == limit
        nonlocal seen_last
        seen_last = seen
        return len([s for s in seen if s.lstrip().upper().startswith(("SELECT", "WITH"))])

    seen_last: list[str] = []
    await grouped(client, alice_token)  # warm: the viewer's filter rules get cached
    small, large = await statements(2), await statements(12)
    assert small == large
    assert large == 5, [s[:60] for s in seen_last]
