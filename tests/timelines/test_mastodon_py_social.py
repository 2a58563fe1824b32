"""One social scenario driven only through Mastodon.py against a real `connecthub serve`:
follow, post, paginate home with `fetch_next`, reply, favourite, boost, notifications,
a direct message through conversations, and a block that hides each side from the other."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI
from mastodon import Mastodon

from tests.conftest import LiveServer
from tests.social_factories import user_with_token

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)

T = TypeVar("T")

POSTS = 7
PAGE = 3
EVENTUAL_SECONDS = 30.0


def eventually(read: Callable[[], T], done: Callable[[T], bool]) -> T:
    """Re-read until `done` holds or the deadline passes; returns the last reading, so the
    caller's assertion shows what the client really saw (jobs run after the response)."""
    deadline = time.monotonic() + EVENTUAL_SECONDS
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.1)
        value = read()
    return value


def walk_home(client: Mastodon) -> tuple[list[str], int]:
    """Every id of the home timeline, page by page through the `Link` header, and the
    number of non-empty pages read."""
    ids: list[str] = []
    pages = 0
    page = client.timeline_home(limit=PAGE)
    while page:
        pages += 1
        ids.extend(str(status["id"]) for status in page)
        page = client.fetch_next(page)
    return ids, pages


def ids(statuses: list[Any]) -> set[str]:
    return {str(status["id"]) for status in statuses}


def by_author(statuses: list[Any], account_id: str) -> list[str]:
    return [str(s["id"]) for s in statuses if str(s["account"]["id"]) == account_id]


def _scenario(url: str, alice_token: str, bob_token: str) -> dict[str, Any]:
    alice = Mastodon(access_token=alice_token, api_base_url=url)
    bob = Mastodon(access_token=bob_token, api_base_url=url)
    alice_id, bob_id = str(alice.me()["id"]), str(bob.me()["id"])
    seen: dict[str, Any] = {"alice_id": alice_id, "bob_id": bob_id}

    seen["followed"] = alice.account_follow(bob_id)
    seen["followed_back"] = bob.account_follow(alice_id)
    posts = [bob.status_post(f"Bob's post number {n}") for n in range(POSTS)]
    seen["posted"] = [str(post["id"]) for post in reversed(posts)]  # newest first
    seen["home"], seen["pages"] = eventually(
        lambda: walk_home(alice), lambda walked: len(walked[0]) >= POSTS
    )

    target = posts[-1]
    seen["reply"] = alice.status_reply(target, "Replying to you, Bob")
    seen["favourited"] = alice.status_favourite(target)
    seen["boost"] = alice.status_reblog(target)
    seen["target"] = bob.status(target["id"])
    seen["notifications"] = eventually(bob.notifications, lambda found: len(found) >= 4)

    seen["dm"] = bob.status_post("@alice this one is just for you", visibility="direct")
    seen["conversations"] = eventually(alice.conversations, lambda found: len(found) >= 1)
    if seen["conversations"]:
        seen["marked_read"] = alice.conversations_read(seen["conversations"][0]["id"])
    seen["conversations_after"] = alice.conversations()
    seen["bob_conversations"] = bob.conversations()

    seen["before_block"] = {
        "alice_public": alice.timeline_public(),
        "alice_bob_statuses": alice.account_statuses(bob_id),
        "bob_home": eventually(
            bob.timeline_home, lambda found: str(seen["reply"]["id"]) in ids(found)
        ),
        "bob_alice_statuses": bob.account_statuses(alice_id),
    }
    seen["blocked"] = alice.account_block(bob_id)
    seen["after_block"] = {
        "alice_home": eventually(alice.timeline_home, lambda found: not by_author(found, bob_id)),
        "alice_public": alice.timeline_public(),
        "alice_bob_statuses": alice.account_statuses(bob_id),
        "bob_home": eventually(bob.timeline_home, lambda found: not by_author(found, alice_id)),
        "bob_public": bob.timeline_public(),
        "bob_alice_statuses": bob.account_statuses(alice_id),
        "bob_relationship": bob.account_relationships([alice_id])[0],
    }
    return seen


@pytest.mark.slow
@pytest.mark.timeout(600)  # a live server, and a loaded machine
async def test_mastodon_py_social_scenario(app: FastAPI, live_server: LiveServer) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    seen = await asyncio.to_thread(_scenario, live_server.url, alice_token, bob_token)
    alice_id, bob_id = seen["alice_id"], seen["bob_id"]

    assert (seen["followed"]["following"], seen["followed_back"]["followed_by"]) == (True, True)
    # every post exactly once, newest first, over more than two pages
    assert seen["home"] == seen["posted"]
    assert seen["pages"] == math.ceil(POSTS / PAGE)

    target_id = seen["posted"][0]
    reply, boost, target = seen["reply"], seen["boost"], seen["target"]
    assert str(reply["in_reply_to_id"]) == target_id
    assert [str(m["id"]) for m in reply["mentions"]] == [bob_id]
    assert seen["favourited"]["favourited"] is True
    assert str(boost["reblog"]["id"]) == target_id
    assert str(boost["account"]["id"]) == alice_id
    assert (target["replies_count"], target["favourites_count"], target["reblogs_count"]) == (
        1,
        1,
        1,
    )

    notifications = {n["type"]: n for n in seen["notifications"]}
    assert set(notifications) == {"follow", "mention", "favourite", "reblog"}
    assert {str(n["account"]["id"]) for n in seen["notifications"]} == {alice_id}
    assert str(notifications["mention"]["status"]["id"]) == str(reply["id"])
    assert str(notifications["favourite"]["status"]["id"]) == target_id
    assert str(notifications["reblog"]["status"]["id"]) == target_id
    assert "status" not in notifications["follow"] or notifications["follow"]["status"] is None

    dm = seen["dm"]
    assert dm["visibility"] == "direct"
    [conversation] = seen["conversations"]
    assert str(conversation["last_status"]["id"]) == str(dm["id"])
    assert [str(a["id"]) for a in conversation["accounts"]] == [bob_id]
    assert conversation["unread"] is True
    assert seen["marked_read"]["unread"] is False
    assert [c["unread"] for c in seen["conversations_after"]] == [False]
    assert [str(c["last_status"]["id"]) for c in seen["bob_conversations"]] == [str(dm["id"])]

    before = seen["before_block"]
    assert by_author(before["alice_public"], bob_id)
    assert set(by_author(before["alice_bob_statuses"], bob_id)) >= set(seen["posted"])
    assert str(reply["id"]) in ids(before["bob_home"])
    assert str(reply["id"]) in ids(before["bob_alice_statuses"])

    assert (seen["blocked"]["blocking"], seen["blocked"]["following"]) == (True, False)
    after = seen["after_block"]
    assert by_author(after["alice_home"], bob_id) == []
    assert target_id not in {str((s["reblog"] or {}).get("id")) for s in after["alice_home"]}
    assert by_author(after["alice_public"], bob_id) == []
    assert after["alice_bob_statuses"] == []
    assert by_author(after["bob_home"], alice_id) == []
    assert by_author(after["bob_public"], alice_id) == []
    assert after["bob_alice_statuses"] == []
    relationship = after["bob_relationship"]
    assert (relationship["blocked_by"], relationship["following"]) == (True, False)
