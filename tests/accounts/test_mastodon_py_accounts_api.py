"""Mastodon.py, as a client author would use it, against a real `connecthub serve`: accounts
by ids, account search, notes, removing a follower, endorsements, featured tags and their
suggestions, an account's featured tags, preferences and removing the avatar."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from mastodon import Mastodon

from tests.conftest import LiveServer
from tests.social_factories import user_with_token

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)


def _session(url: str, alice_token: str, bob_token: str) -> dict[str, Any]:
    alice = Mastodon(access_token=alice_token, api_base_url=url)
    bob = Mastodon(access_token=bob_token, api_base_url=url)
    alice_id, bob_id = alice.me()["id"], bob.me()["id"]
    result: dict[str, Any] = {}
    result["accounts"] = alice.accounts([bob_id, alice_id])
    result["search"] = alice.account_search("bo")
    alice.account_follow(bob_id)
    result["search_following"] = alice.account_search("bo", following=True)
    result["note"] = alice.account_note_set(bob_id, "Plays the cello")
    result["bob_sees"] = bob.account_relationships([alice_id])
    result["pinned"] = alice.account_pin(bob_id)
    result["endorsements"] = alice.endorsements()
    bob.account_follow(alice_id)
    result["removed"] = alice.account_remove_from_followers(bob_id)
    alice.status_post("Cello practice #music #cello")
    alice.status_post("More #music")
    result["suggestions"] = alice.featured_tag_suggestions()
    result["featured"] = alice.featured_tag_create("music")
    result["mine"] = alice.featured_tags()
    result["theirs"] = bob.account_featured_tags(alice_id)
    alice.featured_tag_delete(result["featured"]["id"])
    result["after_delete"] = alice.featured_tags()
    alice.account_update_credentials(
        default_privacy="unlisted", default_sensitive=True, default_language="id"
    )
    result["preferences"] = alice.preferences()
    result["no_avatar"] = alice.account_delete_avatar()
    return result


async def test_mastodon_py_accounts_api(app: FastAPI, live_server: LiveServer) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    await user_with_token(app, "bobby")
    result = await asyncio.to_thread(_session, live_server.url, alice_token, bob_token)

    assert [str(a["id"]) for a in result["accounts"]] == [str(bob.id), str(alice.id)]
    assert [a["acct"] for a in result["search"]] == ["bob", "bobby"]
    assert [a["acct"] for a in result["search_following"]] == ["bob"]
    assert result["note"]["note"] == "Plays the cello"
    assert result["bob_sees"][0]["note"] == ""  # a note is its writer's alone
    assert result["pinned"]["endorsed"] is True
    assert [str(a["id"]) for a in result["endorsements"]] == [str(bob.id)]
    assert (result["removed"]["followed_by"], result["removed"]["following"]) == (False, True)
    assert [t["name"] for t in result["suggestions"]] == ["music", "cello"]
    assert len(result["suggestions"][0]["history"]) == 7
    featured = result["featured"]
    assert (featured["name"], str(featured["statuses_count"])) == ("music", "2")
    assert featured["url"].endswith("/@alice/tagged/music")
    assert [t["name"] for t in result["mine"]] == ["music"]
    assert [t["name"] for t in result["theirs"]] == ["music"]
    assert result["after_delete"] == []
    preferences = result["preferences"]
    assert preferences["posting:default:visibility"] == "unlisted"
    assert preferences["posting:default:sensitive"] is True
    assert preferences["posting:default:language"] == "id"
    assert preferences["reading:expand:media"] == "default"
    assert result["no_avatar"]["avatar"].endswith("/avatars/original/missing.png")
