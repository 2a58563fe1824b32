"""An account's domain blocks: normalised on the way in, listed newest first with
Mastodon's pagination, idempotent both ways, and each account's own."""

from __future__ import annotations

from fastapi import FastAPI
from httpx import AsyncClient

from tests.factories import create_token
from tests.relationships.support import next_link
from tests.social_factories import auth, user_with_token


async def test_blocking_listing_and_unblocking_domains(app: FastAPI, client: AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    headers = auth(token)
    for domain in ("spam.example", " Loud.Example. ", "spam.example", "bücher.example"):
        answer = await client.post(
            "/api/v1/domain_blocks", data={"domain": domain}, headers=headers
        )
        assert (answer.status_code, answer.json()) == (200, {})

    listed = await client.get("/api/v1/domain_blocks", headers=headers)
    assert listed.json() == ["xn--bcher-kva.example", "loud.example", "spam.example"]
    assert (await client.get("/api/v1/domain_blocks", headers=auth(bob_token))).json() == []

    first = await client.get("/api/v1/domain_blocks", params={"limit": 2}, headers=headers)
    assert first.json() == ["xn--bcher-kva.example", "loud.example"]
    rest = await client.get(next_link(first), headers=headers)
    assert rest.json() == ["spam.example"]

    gone = await client.request(
        "DELETE", "/api/v1/domain_blocks", params={"domain": "LOUD.example"}, headers=headers
    )
    assert (gone.status_code, gone.json()) == (200, {})
    again = await client.request(
        "DELETE", "/api/v1/domain_blocks", json={"domain": "never.example"}, headers=headers
    )
    assert (again.status_code, again.json()) == (200, {})
    listed = await client.get("/api/v1/domain_blocks", headers=headers)
    assert listed.json() == ["xn--bcher-kva.example", "spam.example"]
    assert alice.id


async def test_a_domain_that_is_no_host_name_is_refused_by_name(
    app: FastAPI, client: AsyncClient
) -> None:
    _alice, token = await user_with_token(app, "alice")
    for bad in (
        "",
        "https://spam.example/",
        "spam .example",
        "-spam.example",
        "a" * 64 + ".example",
    ):
        answer = await client.post(
            "/api/v1/domain_blocks", json={"domain": bad}, headers=auth(token)
        )
        assert answer.status_code == 422, bad
        assert "domain" in answer.json()["error"].lower(), answer.text
    assert (await client.get("/api/v1/domain_blocks", headers=auth(token))).json() == []


async def test_domain_blocks_need_the_blocks_scopes(app: FastAPI, client: AsyncClient) -> None:
    alice, _token = await user_with_token(app, "alice")
    reader = await create_token(app, alice.id, scopes=frozenset({"read:blocks"}))
    statuses_only = await create_token(app, alice.id, scopes=frozenset({"read:statuses"}))
    assert (await client.get("/api/v1/domain_blocks", headers=auth(reader))).status_code == 200
    refused = await client.post(
        "/api/v1/domain_blocks", json={"domain": "a.example"}, headers=auth(reader)
    )
    assert refused.status_code == 403
    assert (
        await client.get("/api/v1/domain_blocks", headers=auth(statuses_only))
    ).status_code == 403
    assert (await client.get("/api/v1/domain_blocks")).status_code == 401
