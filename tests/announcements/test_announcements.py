"""Announcements through the HTTP API: the admin extension (write, change, take back,
delete, and who may), what readers see (published ones, dismissals, `with_dismissed`),
reactions (unicode and custom emojis, counts and `me`, the limit), scopes and bad input;
and account erasure taking a person's reactions and dismissals with it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI

from connecthub.accounts.models import Role
from connecthub.announcements.models import AnnouncementDismissal, AnnouncementReaction
from tests.admin.support import staff
from tests.emojis.support import added, admin
from tests.factories import create_token
from tests.privacy.support import count, run_deletion_job
from tests.social_factories import auth, user_with_token

ANNOUNCEMENT_KEYS = {
    "id", "content", "starts_at", "ends_at", "published", "all_day", "published_at",
    "updated_at", "read", "mentions", "statuses", "tags", "emojis", "reactions",
}  # fmt: skip
THUMBS = "\N{THUMBS UP SIGN}"
HEART = "\N{HEAVY BLACK HEART}\N{VARIATION SELECTOR-16}"


async def announce(
    client: httpx.AsyncClient, token: str, text: str = "Hello everyone", **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/admin/announcements", headers=auth(token), json={"text": text, **fields}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def listed(client: httpx.AsyncClient, token: str, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/announcements", headers=auth(token), params=params)
    assert response.status_code == 200, response.text
    return list(response.json())


def _reaction_url(announcement_id: str, name: str) -> str:
    return f"/api/v1/announcements/{announcement_id}/reactions/{quote(name)}"


async def test_readers_see_published_announcements(app: FastAPI, client: httpx.AsyncClient) -> None:
    boss = await admin(app)
    _alice, alice = await user_with_token(app, "alice")
    first = await announce(
        client, boss, "Maintenance https://example.com",
        starts_at="2030-01-01T20:00:00Z", ends_at="2030-01-01T22:00:00+00:00",
    )  # fmt: skip
    draft = await announce(client, boss, "Not yet", published=False)
    assert draft["published"] is False
    assert draft["published_at"] is None

    [shown] = await listed(client, alice)
    assert set(shown) == ANNOUNCEMENT_KEYS
    assert shown["id"] == first["id"]
    assert shown["read"] is False
    assert shown["published"] is True
    assert shown["starts_at"] == "2030-01-01T20:00:00.000Z"
    assert shown["ends_at"] == "2030-01-01T22:00:00.000Z"
    assert shown["all_day"] is False
    assert 'href="https://example.com"' in shown["content"]
    assert shown["reactions"] == shown["mentions"] == shown["tags"] == []
    assert "read" not in first  # the admin's view is nobody's

    everything = await client.get("/api/v1/admin/announcements", headers=auth(boss))
    assert {a["id"] for a in everything.json()} == {first["id"], draft["id"]}
    one = f"/api/v1/announcements/{draft['id']}"
    assert (await client.post(f"{one}/dismiss", headers=auth(alice))).status_code == 404
    assert (
        await client.put(_reaction_url(draft["id"], THUMBS), headers=auth(alice))
    ).status_code == 404

    published = await client.put(
        f"/api/v1/admin/announcements/{draft['id']}", headers=auth(boss), json={"published": True}
    )
    assert published.status_code == 200
    assert len(await listed(client, alice)) == 2
    taken_back = await client.put(
        f"/api/v1/admin/announcements/{first['id']}",
        headers=auth(boss),
        json={"published": "false"},
    )
    assert taken_back.json()["published"] is False
    assert [a["id"] for a in await listed(client, alice)] == [draft["id"]]
    deleted = await client.delete(f"/api/v1/admin/announcements/{draft['id']}", headers=auth(boss))
    assert deleted.status_code == 200
    assert await listed(client, alice) == []


async def test_dismissals_are_per_person(app: FastAPI, client: httpx.AsyncClient) -> None:
    boss = await admin(app)
    _alice, alice = await user_with_token(app, "alice")
    _bob, bob = await user_with_token(app, "bob")
    note = await announce(client, boss)
    for _ in range(2):  # idempotent
        response = await client.post(
            f"/api/v1/announcements/{note['id']}/dismiss", headers=auth(alice)
        )
        assert (response.status_code, response.json()) == (200, {})
    assert await listed(client, alice) == []
    [again] = await listed(client, alice, with_dismissed="true")
    assert again["read"] is True
    [for_bob] = await listed(client, bob)
    assert for_bob["read"] is False
    bad = await client.get(
        "/api/v1/announcements", headers=auth(alice), params={"with_dismissed": "perhaps"}
    )
    assert bad.status_code == 422
    assert "with_dismissed" in bad.json()["error"]
    missing = await client.post("/api/v1/announcements/999/dismiss", headers=auth(alice))
    assert missing.status_code == 404


async def test_reactions_count_unicode_and_custom_emojis(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    boss = await admin(app)
    blob = await added(client, boss, "blob")
    _alice, alice = await user_with_token(app, "alice")
    _bob, bob = await user_with_token(app, "bob")
    note = await announce(client, boss, "Party :blob: :nope:")
    assert [e["shortcode"] for e in note["emojis"]] == ["blob"]
    for token, name in ((alice, THUMBS), (bob, THUMBS), (alice, "blob"), (alice, HEART)):
        response = await client.put(_reaction_url(note["id"], name), headers=auth(token))
        assert (response.status_code, response.json()) == (200, {}), response.text
    again = await client.put(_reaction_url(note["id"], THUMBS), headers=auth(alice))
    assert again.status_code == 200  # the same reaction twice counts once

    [seen] = await listed(client, bob)
    reactions = {r["name"]: r for r in seen["reactions"]}
    assert reactions[THUMBS] == {"name": THUMBS, "count": 2, "me": True}
    assert reactions[HEART] == {"name": HEART, "count": 1, "me": False}
    assert reactions["blob"]["url"] == blob["url"]
    assert reactions["blob"]["static_url"] == blob["static_url"]
    assert (reactions["blob"]["count"], reactions["blob"]["me"]) == (1, False)
    assert [r["name"] for r in seen["reactions"]] == [THUMBS, "blob", HEART]

    for _ in range(2):  # removing is idempotent, as Mastodon answers
        gone = await client.delete(_reaction_url(note["id"], THUMBS), headers=auth(bob))
        assert gone.status_code == 200
    [seen] = await listed(client, bob)
    assert {r["name"]: r["count"] for r in seen["reactions"]}[THUMBS] == 1

    # A deleted custom emoji takes its reactions with it.
    await client.delete(f"/api/v1/admin/custom_emojis/{blob['id']}", headers=auth(boss))
    [seen] = await listed(client, bob)
    assert "blob" not in {r["name"] for r in seen["reactions"]}
    assert seen["emojis"] == []


async def test_reaction_names_and_the_limit(app: FastAPI, client: httpx.AsyncClient) -> None:
    boss = await admin(app)
    _alice, alice = await user_with_token(app, "alice")
    note = await announce(client, boss)
    for name in ("abc", "unknown_custom", "a b", "1", "\N{THUMBS UP SIGN}x", "x" * 80):
        response = await client.put(_reaction_url(note["id"], name), headers=auth(alice))
        assert response.status_code == 422, (name, response.text)
        assert "name" in response.json()["error"]
    emojis = [chr(point) for point in range(0x1F600, 0x1F609)]  # nine
    for name in emojis[:8]:
        response = await client.put(_reaction_url(note["id"], name), headers=auth(alice))
        assert response.status_code == 200, response.text
    ninth = await client.put(_reaction_url(note["id"], emojis[8]), headers=auth(alice))
    assert ninth.status_code == 422
    # An existing name may still be given by someone else.
    _bob, bob = await user_with_token(app, "bob")
    existing = await client.put(_reaction_url(note["id"], emojis[0]), headers=auth(bob))
    assert existing.status_code == 200
    flag = "\N{REGIONAL INDICATOR SYMBOL LETTER N}\N{REGIONAL INDICATOR SYMBOL LETTER L}"
    other = await announce(client, boss, "second")
    for name in (
        flag,
        "\N{WAVING HAND SIGN}\N{EMOJI MODIFIER FITZPATRICK TYPE-4}",
        "#\ufe0f\u20e3",
    ):
        response = await client.put(_reaction_url(other["id"], name), headers=auth(alice))
        assert response.status_code == 200, (name, response.text)


async def test_admin_input_is_checked(app: FastAPI, client: httpx.AsyncClient) -> None:
    boss = await admin(app)
    url = "/api/v1/admin/announcements"
    for body, field in (
        ({}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 10_001}, "text"),
        ({"text": "a", "starts_at": "tomorrow"}, "starts_at"),
        ({"text": "a", "ends_at": 5}, "ends_at"),
        ({"text": "a", "starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"},
         "ends_at"),
        ({"text": "a", "all_day": True}, "all_day"),
        ({"text": "a", "published": "sometimes"}, "published"),
    ):  # fmt: skip
        response = await client.post(url, headers=auth(boss), json=body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["error"], (body, response.text)
    day = await announce(
        client, boss, "All day", starts_at="2030-01-01", ends_at="2030-01-02", all_day=True
    )
    assert day["all_day"] is True
    missing = await client.put(f"{url}/12345", headers=auth(boss), json={"text": "b"})
    assert missing.status_code == 404


async def test_scopes_and_permissions(app: FastAPI, client: httpx.AsyncClient) -> None:
    boss = await admin(app)
    note = await announce(client, boss)
    alice, alice_token = await user_with_token(app, "alice")
    _mod, moderator = await staff(app, "moddy", Role.MODERATOR)
    plain_admin_scopes = await create_token(
        app, alice.id, scopes=frozenset({"read", "write", "admin:read", "admin:write"})
    )
    one = f"/api/v1/admin/announcements/{note['id']}"
    for who in (moderator, plain_admin_scopes, alice_token):
        assert (
            await client.get("/api/v1/admin/announcements", headers=auth(who))
        ).status_code == 403
        created = await client.post(
            "/api/v1/admin/announcements", headers=auth(who), json={"text": "x"}
        )
        assert created.status_code == 403
        assert (await client.put(one, headers=auth(who), json={"text": "x"})).status_code == 403
        assert (await client.delete(one, headers=auth(who))).status_code == 403
    assert (await client.get("/api/v1/announcements")).status_code == 401
    read_only = await create_token(app, alice.id, scopes=frozenset({"read"}))
    statuses_only = await create_token(app, alice.id, scopes=frozenset({"read:statuses"}))
    assert (
        await client.get("/api/v1/announcements", headers=auth(statuses_only))
    ).status_code == 403
    assert len(await listed(client, read_only)) == 1
    dismiss = f"/api/v1/announcements/{note['id']}/dismiss"
    assert (await client.post(dismiss, headers=auth(read_only))).status_code == 403
    react = _reaction_url(note["id"], THUMBS)
    assert (await client.put(react, headers=auth(read_only))).status_code == 403
    accounts_only = await create_token(app, alice.id, scopes=frozenset({"write:accounts"}))
    assert (await client.put(react, headers=auth(accounts_only))).status_code == 403
    assert (await client.post(dismiss, headers=auth(accounts_only))).status_code == 200
    favourites = await create_token(app, alice.id, scopes=frozenset({"write:favourites"}))
    assert (await client.put(react, headers=auth(favourites))).status_code == 200


async def test_account_erasure_takes_reactions_and_dismissals(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    boss = await admin(app)
    eve, eve_token = await user_with_token(app, "eve")
    _bob, bob = await user_with_token(app, "bob")
    note = await announce(client, boss)
    await client.put(_reaction_url(note["id"], THUMBS), headers=auth(eve_token))
    await client.put(_reaction_url(note["id"], THUMBS), headers=auth(bob))
    await client.post(f"/api/v1/announcements/{note['id']}/dismiss", headers=auth(eve_token))
    assert await count(app, AnnouncementReaction, AnnouncementReaction.account_id == eve.id) == 1

    await run_deletion_job(app, eve.id)

    assert await count(app, AnnouncementReaction, AnnouncementReaction.account_id == eve.id) == 0
    assert await count(app, AnnouncementDismissal, AnnouncementDismissal.account_id == eve.id) == 0
    [seen] = await listed(client, bob)
    assert seen["reactions"] == [{"name": THUMBS, "count": 1, "me": True}]
