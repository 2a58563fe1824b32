"""Public and hashtag timelines: public posts only, no boosts, anonymous allowed."""

from __future__ import annotations

from fastapi import FastAPI
from httpx import AsyncClient

from tests.social_factories import auth, post_status, user_with_token
from tests.timelines.support import ids_of


async def test_public_timeline_shows_public_posts_only(app: FastAPI, client: AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    public = await post_status(client, alice_token, "hello world")
    await post_status(client, alice_token, "quiet", visibility="unlisted")
    await post_status(client, alice_token, "secret", visibility="private")
    await post_status(client, alice_token, "@bob psst", visibility="direct")
    await client.post(f"/api/v1/statuses/{public['id']}/reblog", headers=auth(bob_token))

    assert await ids_of(await client.get("/api/v1/timelines/public")) == [public["id"]]
    local = await client.get("/api/v1/timelines/public", params={"local": "true"})
    assert await ids_of(local) == [public["id"]]
    remote = await client.get("/api/v1/timelines/public", params={"remote": "true"})
    assert await ids_of(remote) == []  # no federation: nothing is remote
    media = await client.get("/api/v1/timelines/public", params={"only_media": "true"})
    assert await ids_of(media) == []
    bad = await client.get("/api/v1/timelines/public", params={"only_media": "maybe"})
    assert bad.status_code == 422
    assert "only_media" in bad.json()["error"]


async def test_public_hides_blocked_and_muted_accounts(app: FastAPI, client: AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    carol, carol_token = await user_with_token(app, "carol")
    _bob, bob_token = await user_with_token(app, "bob")
    from_alice = await post_status(client, alice_token, "hi all")
    from_carol = await post_status(client, carol_token, "hi from carol")
    await client.post(f"/api/v1/accounts/{alice.id}/block", headers=auth(bob_token))
    await client.post(f"/api/v1/accounts/{carol.id}/mute", headers=auth(bob_token))
    seen = await ids_of(await client.get("/api/v1/timelines/public", headers=auth(bob_token)))
    assert seen == []
    everyone = await ids_of(await client.get("/api/v1/timelines/public"))
    assert everyone == [from_carol["id"], from_alice["id"]]


async def test_hashtag_timeline_with_any_all_none(app: FastAPI, client: AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    kites_sky = await post_status(client, alice_token, "hello #Kites and #sky")
    kites = await post_status(client, alice_token, "just #kites")
    sea = await post_status(client, alice_token, "the #sea")
    await post_status(client, alice_token, "quiet #kites", visibility="unlisted")
    await post_status(client, alice_token, "secret #kites", visibility="private")

    async def tagged(tag: str, **params: object) -> list[str]:
        return await ids_of(await client.get(f"/api/v1/timelines/tag/{tag}", params=params))

    assert await tagged("kites") == [kites["id"], kites_sky["id"]]
    assert await tagged("KITES", local="true") == [kites["id"], kites_sky["id"]]
    assert await tagged("kites", **{"all[]": "sky"}) == [kites_sky["id"]]
    assert await tagged("kites", **{"none[]": "sky"}) == [kites["id"]]
    assert await tagged("kites", **{"any[]": ["sea", "nothing"]}) == [
        sea["id"],
        kites["id"],
        kites_sky["id"],
    ]
    assert await tagged("nothing") == []
