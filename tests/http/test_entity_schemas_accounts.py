"""The issue-21 account routes (notes, endorsements, featured tags, accounts by ids, account
search, preferences, profile image removal) answer exactly the entities they declare."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.http.test_entity_schemas import Answers
from tests.social_factories import auth, post_status, user_with_token

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)


@pytest.mark.slow
async def test_account_route_answers_match_their_declared_entities(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    answers = Answers((await client.get("/openapi.json")).json())
    check = answers.check
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    as_alice, as_bob = auth(alice_token), auth(bob_token)
    await post_status(client, alice_token, "Tea time #tea")
    account_path = "/api/v1/accounts/{account_id}"

    check(await client.post(f"/api/v1/accounts/{alice.id}/follow", headers=as_bob),
          "post", account_path + "/follow")  # fmt: skip
    check(await client.post(f"/api/v1/accounts/{alice.id}/note", data={"comment": "hi"},
                            headers=as_bob), "post", account_path + "/note")  # fmt: skip
    for verb in ("pin", "unpin", "endorse"):
        check(await client.post(f"/api/v1/accounts/{alice.id}/{verb}", headers=as_bob),
              "post", f"{account_path}/{verb}")  # fmt: skip
    removed = await client.post(f"/api/v1/accounts/{bob.id}/remove_from_followers",
                                headers=as_alice)  # fmt: skip
    check(removed, "post", account_path + "/remove_from_followers")
    featuring = await client.post("/api/v1/featured_tags", data={"name": "tea"}, headers=as_alice)
    featured = check(featuring, "post", "/api/v1/featured_tags")
    check(await client.delete("/api/v1/profile/avatar", headers=as_alice),
          "delete", "/api/v1/profile/avatar")  # fmt: skip
    check(await client.delete("/api/v1/profile/header", headers=as_alice),
          "delete", "/api/v1/profile/header")  # fmt: skip
    await post_status(client, alice_token, "More #coffee")
    reads = [
        (f"/api/v1/accounts?id[]={alice.id}&id[]={bob.id}", "/api/v1/accounts", {}),
        ("/api/v1/accounts/search?q=al", "/api/v1/accounts/search", as_bob),
        ("/api/v1/endorsements", "/api/v1/endorsements", as_bob),
        (f"/api/v1/accounts/{bob.id}/endorsements", account_path + "/endorsements", {}),
        ("/api/v1/featured_tags", "/api/v1/featured_tags", as_alice),
        ("/api/v1/featured_tags/suggestions", "/api/v1/featured_tags/suggestions", as_alice),
        (f"/api/v1/accounts/{alice.id}/featured_tags", account_path + "/featured_tags", {}),
        ("/api/v1/preferences", "/api/v1/preferences", as_alice),
    ]  # fmt: skip
    for url, path, headers in reads:
        body = check(await client.get(url, headers=headers), "get", path)
        assert body, url  # a non-empty answer was checked
    check(await client.delete(f"/api/v1/featured_tags/{featured['id']}", headers=as_alice),
          "delete", "/api/v1/featured_tags/{row_id}")  # fmt: skip
    assert len(answers.checked) == len(reads) + 10
