"""Mastodon.py end to end against a real server: a hashtag looked at and followed, its posts in
home and in the hashtag timeline, the followed list, unfollowing; a thread muted and
unmuted. (Mastodon.py has no `media_delete` in the installed version: tests/media/
test_delete.py covers that route through HTTP.)"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from mastodon import Mastodon

from tests.conftest import LiveServer
from tests.social_factories import user_with_token
from tests.timelines.test_mastodon_py_social import eventually, ids

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)


def _scenario(url: str, reader_token: str, author_token: str) -> dict[str, Any]:
    reader = Mastodon(access_token=reader_token, api_base_url=url)
    author = Mastodon(access_token=author_token, api_base_url=url)
    seen: dict[str, Any] = {}
    seen["before"] = reader.tag("Birds")
    seen["followed"] = reader.tag_follow("Birds")
    reader.tag_follow("herons")
    seen["tagged"] = author.status_post("A heron today #birds")
    seen["other"] = author.status_post("Nothing to see here")
    seen["home"] = eventually(
        reader.timeline_home, lambda page: str(seen["tagged"]["id"]) in ids(page)
    )
    seen["hashtag"] = reader.timeline_hashtag("birds")
    seen["hashtag_local"] = reader.timeline_hashtag("birds", local=True)
    seen["hashtag_remote"] = reader.timeline_hashtag("birds", remote=True)
    seen["followed_tags"] = reader.followed_tags()
    first = reader.followed_tags(limit=1)
    seen["followed_page"] = [first, reader.fetch_next(first)]
    seen["unfollowed"] = reader.tag_unfollow("birds")
    seen["after_unfollow"] = author.status_post("Another one #birds")
    seen["home_after"] = reader.timeline_home()

    author_thread = author.status_post("A thread about birds")
    seen["muted"] = reader.status_mute(author_thread)
    author.status_reply(author_thread, "@reader more birds")
    seen["unmuted"] = reader.status_unmute(author_thread)
    seen["mention"] = author.status_reply(author_thread, "@reader and more")
    seen["notifications"] = eventually(reader.notifications, lambda found: len(found) >= 1)
    return seen


async def test_mastodon_py_followed_tags_and_thread_mutes(
    app: FastAPI, live_server: LiveServer
) -> None:
    _reader, reader_token = await user_with_token(app, "reader")
    _author, author_token = await user_with_token(app, "author")
    seen = await asyncio.to_thread(_scenario, live_server.url, reader_token, author_token)

    assert seen["before"]["following"] is False
    assert seen["before"]["name"] == "Birds"
    assert len(seen["before"]["history"]) == 7
    assert seen["followed"]["following"] is True
    tagged = str(seen["tagged"]["id"])
    assert ids(seen["home"]) == {tagged}  # the untagged post of a stranger is not in home
    assert ids(seen["hashtag"]) == {tagged} == ids(seen["hashtag_local"])
    assert seen["hashtag_remote"] == []
    assert [t["name"] for t in seen["followed_tags"]] == ["herons", "Birds"]
    assert [[t["name"] for t in page] for page in seen["followed_page"]] == [["herons"], ["Birds"]]
    assert seen["unfollowed"]["following"] is False
    assert str(seen["after_unfollow"]["id"]) not in ids(seen["home_after"])
    assert tagged not in ids(seen["home_after"])  # unfollowing takes its posts out of home

    assert seen["muted"]["muted"] is True
    assert seen["unmuted"]["muted"] is False
    # The reply made while the thread was muted notified nobody; the later one did.
    assert [(n["type"], str(n["status"]["id"])) for n in seen["notifications"]] == [
        ("mention", str(seen["mention"]["id"]))
    ]
