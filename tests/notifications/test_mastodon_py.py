"""Mastodon.py's grouped notifications methods against a real `connecthub serve`: a page
of groups and the next one through its Link header, one group, its accounts, the unread
count of groups, dismissing a group.

The server still advertises Mastodon 4.2 (MASTODON_API_COMPAT), and Mastodon.py refuses
4.3 methods on it unless its version check is off."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from mastodon import Mastodon

from tests.conftest import LiveServer
from tests.social_factories import user_with_token

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)


def _session(url: str, alice_token: str, fan_tokens: list[str]) -> dict[str, Any]:
    alice = Mastodon(access_token=alice_token, api_base_url=url, version_check_mode="none")
    fans = [
        Mastodon(access_token=t, api_base_url=url, version_check_mode="none") for t in fan_tokens
    ]
    alice_id = alice.me()["id"]
    post = alice.status_post("a post")
    for fan in fans:
        fan.status_favourite(post["id"])
    for fan in fans:
        fan.account_follow(alice_id)
    fans[0].status_post("@alice hello")
    result: dict[str, Any] = {"fans": [fan.me()["id"] for fan in fans]}
    result["unread"] = alice.unread_grouped_notifications_count()
    first = alice.grouped_notifications(limit=2, expand_accounts="full")
    result["first"] = first
    result["next"] = alice.fetch_next(first)
    result["partial"] = alice.grouped_notifications(expand_accounts="partial_avatars")
    key = first.notification_groups[1].group_key
    result["one"] = alice.grouped_notification(key)
    result["accounts"] = alice.grouped_notification_accounts(key)
    alice.dismiss_grouped_notification(key)
    result["after"] = alice.grouped_notifications()
    result["post"] = post
    return result


@pytest.mark.slow
async def test_mastodon_py_grouped_notifications(app: FastAPI, live_server: LiveServer) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    fan_tokens = [(await user_with_token(app, f"fan{i}"))[1] for i in range(3)]
    result = await asyncio.to_thread(_session, live_server.url, alice_token, fan_tokens)
    fans = [str(i) for i in result["fans"]]

    assert result["unread"] == 3  # the mention, the follows, the favourites
    first = result["first"]
    assert [g.type for g in first.notification_groups] == ["mention", "follow"]
    follows = first.notification_groups[1]
    assert follows.notifications_count == 3
    assert [str(i) for i in follows.sample_account_ids] == fans[::-1]
    assert {str(a.id) for a in first.accounts} == set(fans)
    [mentioning] = first.statuses
    assert str(first.notification_groups[0].status_id) == str(mentioning.id)
    # The next page reads below the follows' newest notification (Mastodon's paging), so
    # the older follows come again there, counted up to that page.
    older_follows, favourites = result["next"].notification_groups
    assert (older_follows.type, older_follows.notifications_count) == ("follow", 2)
    assert older_follows.group_key == follows.group_key
    assert (favourites.type, favourites.notifications_count) == ("favourite", 3)
    assert str(favourites.status_id) == str(result["post"]["id"])
    partial = result["partial"]
    assert [str(a.id) for a in partial.accounts] == [fans[0], fans[2]]
    assert {str(a.id) for a in partial.partial_accounts} == {fans[1]}

    [one] = result["one"].notification_groups
    assert (one.group_key, one.notifications_count) == (follows.group_key, 3)
    assert [str(a.id) for a in result["accounts"]] == fans[::-1]
    assert [g.type for g in result["after"].notification_groups] == ["mention", "favourite"]
