"""Translation as Mastodon answers it on a server with no translation service: 404 for a
status one may read (as for one one may not), 403 for a private or direct one."""

from __future__ import annotations

from fastapi import FastAPI
from httpx import AsyncClient, Response

from tests.factories import create_token
from tests.social_factories import auth, follow, post_status, user_with_token


async def test_translate_answers_as_mastodon_without_a_service(
    app: FastAPI, client: AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    await follow(app, bob.id, alice.id)
    public = await post_status(client, alice_token, "Selamat pagi", language="id")
    private = await post_status(client, alice_token, "Hanya pengikut", visibility="private")
    direct = await post_status(client, alice_token, "@carol hi", visibility="direct")

    async def translate(status_id: str, token: str) -> Response:
        return await client.post(
            f"/api/v1/statuses/{status_id}/translate", json={"lang": "en"}, headers=auth(token)
        )

    unconfigured = await translate(public["id"], bob_token)
    assert (unconfigured.status_code, unconfigured.json()) == (404, {"error": "Record not found"})
    refused = await translate(private["id"], bob_token)
    assert (refused.status_code, refused.json()) == (403, {"error": "This action is not allowed"})
    unseen = await translate(direct["id"], bob_token)
    assert unseen.status_code == 404
    missing = await translate("123456789", bob_token)
    assert missing.status_code == 404
    writer = await create_token(app, bob.id, scopes=frozenset({"write:statuses"}))
    assert (await translate(public["id"], writer)).status_code == 403
    assert alice.id
