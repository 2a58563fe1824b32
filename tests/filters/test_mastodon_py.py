"""Mastodon.py managing v2 filters (and reading them through v1) against a real
`connecthub serve`, and seeing a status marked on its home timeline."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from mastodon import Mastodon

from tests.conftest import LiveServer
from tests.social_factories import user_with_token


def _filters(url: str, alice_token: str, bob_token: str) -> dict[str, Any]:
    alice = Mastodon(access_token=alice_token, api_base_url=url)
    bob = Mastodon(access_token=bob_token, api_base_url=url)
    alice.account_follow(bob.me())
    post = bob.status_post("the big match tonight")
    created = alice.create_filter_v2(
        "Sports",
        ["home", "public"],
        "warn",
        keywords_attributes=[{"keyword": "match", "whole_word": True}],
    )
    keyword = alice.add_filter_keyword_v2(created, "tonight", whole_word=False)
    status = alice.add_filter_status_v2(created, post)
    updated = alice.update_filter_v2(created, title="Sport")
    result = {
        "created": created,
        "keyword": keyword,
        "status": status,
        "updated": updated,
        "listed": alice.filters_v2(),
        "keywords": alice.filter_keywords_v2(created),
        "statuses": alice.filter_statuses_v2(created),
        "v1": alice.filters(),
        "home": alice.timeline_home(),
    }
    alice.delete_filter_keyword_v2(keyword)
    alice.delete_filter_status_v2(status)
    alice.delete_filter_v2(created)
    result["after"] = alice.filters_v2()
    result["post"] = post
    return result


async def test_mastodon_py_filters(app: FastAPI, live_server: LiveServer) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    result = await asyncio.to_thread(_filters, live_server.url, alice_token, bob_token)

    created = result["created"]
    assert created["title"] == "Sports"
    assert created["context"] == ["home", "public"]
    assert [k["keyword"] for k in created["keywords"]] == ["match"]
    assert result["updated"]["title"] == "Sport"
    assert [f["id"] for f in result["listed"]] == [created["id"]]
    assert sorted(k["keyword"] for k in result["keywords"]) == ["match", "tonight"]
    assert [str(s["status_id"]) for s in result["statuses"]] == [str(result["post"]["id"])]
    assert sorted(f["phrase"] for f in result["v1"]) == ["match", "tonight"]
    [home] = result["home"]
    [filtered] = home["filtered"]
    assert sorted(filtered["keyword_matches"]) == ["match", "tonight"]
    assert [str(i) for i in filtered["status_matches"]] == [str(result["post"]["id"])]
    assert result["after"] == []
