"""`POST /api/v1/emails/confirmations` (mail the confirmation link again, optionally to a
new address) and `GET /api/v1/accounts/:id/identity_proofs` (always empty), through HTTP."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.accounts.support import body_of, link_in, outbox
from tests.factories import create_token, create_user
from tests.social_factories import auth, user_with_token

URL = "/api/v1/emails/confirmations"


async def test_an_unconfirmed_user_gets_the_link_again(
    app: FastAPI, client: httpx.AsyncClient, test_env: Any
) -> None:
    alice, _user = await create_user(app, "alice", confirmed=False)
    token = await create_token(app, alice.id)
    sent = await client.post(URL, headers=auth(token))
    assert (sent.status_code, sent.json()) == (200, {}), sent.text
    [mail] = outbox(test_env.workdir / "outbox")
    assert mail["To"] == "alice@example.com"
    assert "/auth/confirmation?confirmation_token=" in body_of(mail)

    moved = await client.post(URL, headers=auth(token), json={"email": "alice@example.net"})
    assert moved.status_code == 200, moved.text
    mails = outbox(test_env.workdir / "outbox")
    assert [m["To"] for m in mails] == ["alice@example.com", "alice@example.net"]
    # The link names the address: the new one confirms, and then the route is closed.
    confirmed = await client.get(link_in(mails[1], "/auth/confirmation"))
    assert confirmed.status_code < 400, confirmed.text
    done = await client.post(URL, headers=auth(token))
    assert done.status_code == 403
    assert "awaiting confirmation" in done.json()["error"]


async def test_bad_addresses_and_scopes(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, _user = await create_user(app, "alice", confirmed=False)
    await create_user(app, "bob")
    token = await create_token(app, alice.id)
    for email in ("not an address", "x" * 400 + "@example.com", "bob@example.com"):
        response = await client.post(URL, headers=auth(token), json={"email": email})
        assert response.status_code == 422, (email, response.text)
        assert "email" in response.json()["error"]
    read_only = await create_token(app, alice.id, scopes=frozenset({"read"}))
    assert (await client.post(URL, headers=auth(read_only))).status_code == 403
    assert (await client.post(URL)).status_code == 401
    # A confirmed user has nothing to confirm.
    _carol, carol = await user_with_token(app, "carol")
    refused = await client.post(URL, headers=auth(carol))
    assert refused.status_code == 403


async def test_identity_proofs_are_empty(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, token = await user_with_token(app, "alice")
    proofs = await client.get(f"/api/v1/accounts/{alice.id}/identity_proofs", headers=auth(token))
    assert (proofs.status_code, proofs.json()) == (200, [])
    missing = await client.get("/api/v1/accounts/424242/identity_proofs", headers=auth(token))
    assert missing.status_code == 404
    assert (await client.get(f"/api/v1/accounts/{alice.id}/identity_proofs")).status_code == 401
