"""Silence (Mastodon's "limit") and sensitive, as every read path honours them, and their
undoing; rejecting a sign-up held for approval."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.support import act, admin_account, admin_post, staff
from tests.factories import create_user
from tests.media import files
from tests.media.support import upload
from tests.social_factories import auth, follow, post_status, user_with_token
from tests.timelines.support import home_ids, settle

PUBLIC = "/api/v1/timelines/public"
SEARCH = "/api/v1/accounts/search"


async def _ids(client: Any, path: str, token: str | None, **params: Any) -> list[str]:
    headers = auth(token) if token else {}
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


async def _found(client: Any, token: str, q: str) -> list[str]:
    response = await client.get(SEARCH, params={"q": q}, headers=auth(token))
    assert response.status_code == 200, response.text
    return [item["username"] for item in response.json()]


@pytest.mark.slow
async def test_silence_limits_the_account_until_unsilenced(app: Any, client: Any) -> None:
    _, mod_token = await staff(app, "moddy")
    loud, loud_token = await user_with_token(app, "loudmouth")
    fan, fan_token = await user_with_token(app, "fan")
    _, stranger_token = await user_with_token(app, "stranger")
    await follow(app, fan.id, loud.id)
    before = await post_status(client, loud_token, "before the limit #news")

    silenced = await act(client, mod_token, loud.id, "silence", text="too loud")
    assert silenced.status_code == 200, silenced.text
    assert silenced.json() == {}
    after = await post_status(client, loud_token, "after the limit #news")

    # Out of the public, local and hashtag timelines, for everyone (as Mastodon's feeds).
    for token in (stranger_token, fan_token, None):
        for params in ({}, {"local": "true"}):
            shown = await _ids(client, PUBLIC, token, **params)
            assert before["id"] not in shown
            assert after["id"] not in shown
        tagged = await _ids(client, "/api/v1/timelines/tag/news", token)
        assert tagged == []
    # Followers still get every post in home; the posts themselves stay readable.
    assert {before["id"], after["id"]} <= set(await home_ids(app, client, fan_token))
    one = await client.get(f"/api/v1/statuses/{after['id']}", headers=auth(stranger_token))
    assert one.status_code == 200
    # Search: gone from a stranger's prefix matches, kept for a follower and for the exact
    # username.
    assert "loudmouth" not in await _found(client, stranger_token, "loud")
    assert "loudmouth" in await _found(client, stranger_token, "loudmouth")
    assert "loudmouth" in await _found(client, fan_token, "loud")
    # The Account entity says so; the admin entity and list too.
    profile = (await client.get(f"/api/v1/accounts/{loud.id}")).json()
    assert profile["limited"] is True
    assert (await admin_account(client, mod_token, loud.id))["silenced"] is True
    listed = await client.get(
        "/api/v2/admin/accounts", params={"status": "silenced"}, headers=auth(mod_token)
    )
    assert [item["id"] for item in listed.json()] == [str(loud.id)]
    # A limited account's follows become requests, even of an unlocked account.
    followed = await client.post(f"/api/v1/accounts/{fan.id}/follow", headers=auth(loud_token))
    assert followed.status_code == 200, followed.text
    assert (followed.json()["following"], followed.json()["requested"]) == (False, True)

    lifted = await admin_post(client, mod_token, loud.id, "unsilence")
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["silenced"] is False
    assert "limited" not in lifted.json()["account"]
    await settle(app)
    shown = await _ids(client, PUBLIC, stranger_token)
    assert before["id"] in shown
    assert after["id"] in shown
    assert "loudmouth" in await _found(client, stranger_token, "loud")
    assert "limited" not in (await client.get(f"/api/v1/accounts/{loud.id}")).json()
    # Idempotent both ways.
    assert (await admin_post(client, mod_token, loud.id, "unsilence")).status_code == 200
    assert (await act(client, mod_token, loud.id, "silence")).status_code == 200
    assert (await act(client, mod_token, loud.id, "silence")).status_code == 200


async def test_sensitive_marks_every_status_until_unsensitized(app: Any, client: Any) -> None:
    _, mod_token = await staff(app, "moddy")
    poster, poster_token = await user_with_token(app, "poster")
    _, reader_token = await user_with_token(app, "reader")
    media = (await upload(client, poster_token, files.png(20, 20, seed=81))).json()
    old = await post_status(client, poster_token, "a picture", media_ids=[media["id"]])
    assert old["sensitive"] is False
    # Read once, so a cached rendering exists that the mark must replace.
    assert old["id"] in await _ids(client, PUBLIC, reader_token)

    marked = await act(client, mod_token, poster.id, "sensitive")
    assert marked.status_code == 200, marked.text
    assert (await admin_account(client, mod_token, poster.id))["sensitized"] is True
    for token in (reader_token, None):
        headers = auth(token) if token else {}
        one = await client.get(f"/api/v1/statuses/{old['id']}", headers=headers)
        assert one.json()["sensitive"] is True
        page = await client.get(PUBLIC, headers=headers)
        assert {s["id"]: s["sensitive"] for s in page.json()}[old["id"]] is True
    # New media is stored sensitive.
    media = (await upload(client, poster_token, files.png(20, 20, seed=82))).json()
    new = await post_status(client, poster_token, "another", media_ids=[media["id"]])
    assert new["sensitive"] is True

    lifted = await admin_post(client, mod_token, poster.id, "unsensitive")
    assert lifted.status_code == 200, lifted.text
    assert lifted.json()["sensitized"] is False
    one = await client.get(f"/api/v1/statuses/{old['id']}", headers=auth(reader_token))
    assert one.json()["sensitive"] is False
    page = await client.get(PUBLIC, headers=auth(reader_token))
    assert {s["id"]: s["sensitive"] for s in page.json()}[old["id"]] is False
    again = await client.get(f"/api/v1/statuses/{new['id']}", headers=auth(reader_token))
    assert again.json()["sensitive"] is True  # stored so while marked, as posted


async def test_rejecting_a_pending_sign_up_erases_it(app: Any, client: Any) -> None:
    _, mod_token = await staff(app, "moddy")
    pending, _ = await create_user(app, "newbie", approved=False)
    approved, _ = await user_with_token(app, "settled")

    refused = await admin_post(client, mod_token, approved.id, "reject")
    assert refused.status_code == 403, refused.text
    rejected = await admin_post(client, mod_token, pending.id, "reject")
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["id"] == str(pending.id)
    assert rejected.json()["approved"] is False
    assert (await client.get(f"/api/v1/accounts/{pending.id}")).status_code == 404
    # Rejected once: it is being deleted, nothing more to do.
    again = await admin_post(client, mod_token, pending.id, "reject")
    assert again.status_code == 422
    assert (await admin_account(client, mod_token, approved.id))["suspended"] is False
