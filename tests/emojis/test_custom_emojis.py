"""Custom emojis through the HTTP API: the admin extension (add, list, change, delete, and
who may), Mastodon's public list, and the `emojis` arrays of statuses and accounts, cached
renderings included."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image

from connecthub.accounts.models import Role
from tests.admin.support import staff
from tests.emojis.support import add_emoji, added, admin
from tests.factories import create_token
from tests.media import files
from tests.media.support import fetch
from tests.social_factories import auth, post_status, user_with_token
from tests.timelines.support import settle

EMOJI_KEYS = {"shortcode", "url", "static_url", "visible_in_picker", "category"}


async def test_an_admin_adds_an_emoji_and_everyone_lists_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = await admin(app)
    created = await added(client, token, "blobcat", category="Blobs")
    assert created["shortcode"] == "blobcat"
    assert created["category"] == "Blobs"
    assert created["visible_in_picker"] is True
    assert created["id"].isdigit()

    listed = await client.get("/api/v1/custom_emojis")  # no token: public, as Mastodon
    assert listed.status_code == 200
    [emoji] = listed.json()
    assert set(emoji) == EMOJI_KEYS
    assert emoji["shortcode"] == "blobcat"
    image = await fetch(client, emoji["url"])
    static = await fetch(client, emoji["static_url"])
    assert image.status_code == static.status_code == 200
    assert Image.open(io.BytesIO(static.content)).format == "PNG"


async def test_an_animated_gif_stays_animated_with_a_still_png(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = await admin(app)
    emoji = await added(client, token, "party", data=files.gif(frames=3), content_type="image/gif")
    image = Image.open(io.BytesIO((await fetch(client, emoji["url"])).content))
    static = Image.open(io.BytesIO((await fetch(client, emoji["static_url"])).content))
    assert (image.format, image.n_frames) == ("GIF", 3)
    assert (static.format, getattr(static, "n_frames", 1)) == ("PNG", 1)


async def test_large_images_are_scaled_to_emoji_size(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = await admin(app)
    emoji = await added(client, token, "big", data=files.png(400, 200))
    image = Image.open(io.BytesIO((await fetch(client, emoji["url"])).content))
    assert image.size == (128, 64)


@pytest.mark.parametrize(
    ("shortcode", "data", "field"),
    [
        ("a", files.png(), "shortcode"),
        ("has space", files.png(), "shortcode"),
        ("x" * 65, files.png(), "shortcode"),
        ("jpeg", files.jpeg(), "image"),
        ("text", b"not an image at all", "image"),
        ("huge", files.png(350, 350), "image"),  # noise: over 256 KiB
        ("broken", files.png()[:60], "image"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    app: FastAPI, client: httpx.AsyncClient, shortcode: str, data: bytes, field: str
) -> None:
    token = await admin(app)
    response = await add_emoji(client, token, shortcode, data)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]
    assert (await client.get("/api/v1/custom_emojis")).json() == []


async def test_missing_image_and_taken_shortcode(app: FastAPI, client: httpx.AsyncClient) -> None:
    token = await admin(app)
    no_image = await client.post(
        "/api/v1/admin/custom_emojis", headers=auth(token), data={"shortcode": "blob"}
    )
    assert no_image.status_code == 422
    assert "image" in no_image.json()["error"]
    await added(client, token, "blob")
    again = await add_emoji(client, token, "blob")
    assert again.status_code == 422
    assert "shortcode" in again.json()["error"]


async def test_only_admins_manage_emojis(app: FastAPI, client: httpx.AsyncClient) -> None:
    token = await admin(app)
    emoji = await added(client, token, "blob")
    _mod, moderator = await staff(app, "moddy", Role.MODERATOR)
    plain, _ = await user_with_token(app, "alice")
    plain_admin_scopes = await create_token(
        app, plain.id, scopes=frozenset({"read", "write", "admin:read", "admin:write"})
    )
    _boss2, no_admin_scope = await user_with_token(app, "carol", role=Role.ADMIN)
    one = f"/api/v1/admin/custom_emojis/{emoji['id']}"
    for who in (moderator, plain_admin_scopes, no_admin_scope):
        assert (await add_emoji(client, who, "other")).status_code == 403
        assert (
            await client.get("/api/v1/admin/custom_emojis", headers=auth(who))
        ).status_code == 403
        assert (await client.get(one, headers=auth(who))).status_code == 403
        patched = await client.patch(one, headers=auth(who), json={"category": "x"})
        assert patched.status_code == 403
        assert (await client.delete(one, headers=auth(who))).status_code == 403
    assert (await client.get("/api/v1/admin/custom_emojis")).status_code == 401
    listed = await client.get("/api/v1/admin/custom_emojis", headers=auth(token))
    assert [e["shortcode"] for e in listed.json()] == ["blob"]
    assert listed.json()[0]["category"] is None


async def test_patch_and_delete(app: FastAPI, client: httpx.AsyncClient) -> None:
    token = await admin(app)
    emoji = await added(client, token, "blob", category="Old")
    one = f"/api/v1/admin/custom_emojis/{emoji['id']}"
    changed = await client.patch(
        one, headers=auth(token), json={"category": "New", "visible_in_picker": False}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["category"], changed.json()["visible_in_picker"]) == ("New", False)
    # Out of pickers: not in Mastodon's public list any more, still rendered (below).
    assert (await client.get("/api/v1/custom_emojis")).json() == []
    bad = await client.patch(one, headers=auth(token), json={"visible_in_picker": "maybe"})
    assert bad.status_code == 422
    assert "visible_in_picker" in bad.json()["error"]
    new_image = files.gif(frames=2)
    response = await client.patch(
        one, headers=auth(token), files={"image": ("b.gif", new_image, "image/gif")}
    )
    assert response.status_code == 200, response.text
    assert response.json()["url"] != emoji["url"]
    assert response.json()["category"] == "New"  # fields not sent are kept

    assert (await client.delete(one, headers=auth(token))).status_code == 200
    assert (await client.get(one, headers=auth(token))).status_code == 404
    assert (await client.delete(one, headers=auth(token))).status_code == 404
    await settle(app)
    gone = await fetch(client, response.json()["url"])
    assert gone.status_code == 404


async def _status(client: httpx.AsyncClient, token: str, status_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/statuses/{status_id}", headers=auth(token))
    assert response.status_code == 200
    return dict(response.json())


async def test_statuses_carry_the_emojis_they_use(app: FastAPI, client: httpx.AsyncClient) -> None:
    token = await admin(app)
    await added(client, token, "blob")
    await added(client, token, "unused")
    _alice, alice = await user_with_token(app, "alice")
    posted = await post_status(
        client, alice, "hi :blob: and :nope: and :blob:", spoiler_text="cw :blob:"
    )
    assert [e["shortcode"] for e in posted["emojis"]] == ["blob"]
    assert ":blob:" in posted["content"]  # the text keeps it: clients draw the image
    assert ":nope:" in posted["content"]
    glued = await post_status(client, alice, "a:blob:b and ::blob:: plain")
    assert glued["emojis"] == []
    shown = await _status(client, alice, posted["id"])
    assert shown["emojis"] == posted["emojis"]
    assert set(shown["emojis"][0]) == EMOJI_KEYS
    await settle(app)
    home = await client.get("/api/v1/timelines/home", headers=auth(alice))
    by_id = {s["id"]: s for s in home.json()}
    assert by_id[posted["id"]]["emojis"] == posted["emojis"]


async def test_cached_renderings_follow_emoji_changes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = await admin(app)
    _alice, alice = await user_with_token(app, "alice")
    posted = await post_status(client, alice, "early :blob:")
    assert (await _status(client, alice, posted["id"]))["emojis"] == []  # cached: no emoji
    emoji = await added(client, token, "blob")
    assert [e["shortcode"] for e in (await _status(client, alice, posted["id"]))["emojis"]] == [
        "blob"
    ]
    await settle(app)
    home = await client.get("/api/v1/timelines/home", headers=auth(alice))
    assert home.json()[0]["emojis"][0]["shortcode"] == "blob"

    deleted = await client.delete(f"/api/v1/admin/custom_emojis/{emoji['id']}", headers=auth(token))
    assert deleted.status_code == 200
    assert (await _status(client, alice, posted["id"]))["emojis"] == []
    home = await client.get("/api/v1/timelines/home", headers=auth(alice))
    assert home.json()[0]["emojis"] == []
    assert ":blob:" in home.json()[0]["content"]


async def test_display_names_and_bios_carry_their_emojis(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = await admin(app)
    await added(client, token, "blob")
    await added(client, token, "wave")
    alice, alice_token = await user_with_token(app, "alice")
    updated = await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=auth(alice_token),
        data={"display_name": "Alice :blob:", "note": "hello :wave: :ghost:"},
    )
    assert updated.status_code == 200, updated.text
    codes = ["blob", "wave"]
    assert [e["shortcode"] for e in updated.json()["emojis"]] == codes
    me = await client.get("/api/v1/accounts/verify_credentials", headers=auth(alice_token))
    assert [e["shortcode"] for e in me.json()["emojis"]] == codes
    shown = await client.get(f"/api/v1/accounts/{alice.id}")
    assert [e["shortcode"] for e in shown.json()["emojis"]] == codes
    posted = await post_status(client, alice_token, "plain text")
    assert posted["emojis"] == []
    assert [e["shortcode"] for e in posted["account"]["emojis"]] == codes
    read = await _status(client, alice_token, posted["id"])
    assert [e["shortcode"] for e in read["account"]["emojis"]] == codes


async def test_accounts_in_lists_search_and_notifications_carry_emojis(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = await admin(app)
    await added(client, token, "blob")
    _alice, alice = await user_with_token(app, "alice")
    _bob, bob = await user_with_token(app, "bob")
    await client.patch(
        "/api/v1/accounts/update_credentials",
        headers=auth(alice),
        data={"display_name": "Alice :blob:"},
    )
    found = await client.get("/api/v2/search", headers=auth(bob), params={"q": "alice"})
    assert [e["shortcode"] for e in found.json()["accounts"][0]["emojis"]] == ["blob"]
    mention = await post_status(client, alice, "hi @bob")
    await settle(app)
    notifications = await client.get("/api/v1/notifications", headers=auth(bob))
    [note] = notifications.json()
    assert [e["shortcode"] for e in note["account"]["emojis"]] == ["blob"]
    one = await client.get(f"/api/v1/notifications/{note['id']}", headers=auth(bob))
    assert one.json()["account"] == note["account"]
    await client.post(f"/api/v1/statuses/{mention['id']}/favourite", headers=auth(alice))
    likers = await client.get(f"/api/v1/statuses/{mention['id']}/favourited_by", headers=auth(bob))
    assert [e["shortcode"] for e in likers.json()[0]["emojis"]] == ["blob"]
