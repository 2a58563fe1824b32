"""Public, hashtag and list timelines run the same number of queries for a page of 5 as for
a page of 40, with a cold entity cache and with a warm one (home: test_home.py)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.social_factories import auth, post_status, user_with_token
from tests.timelines.support import read_costs

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)


async def _mixed_posts(client: AsyncClient, tokens: list[str], count: int) -> None:
    """Posts by several authors with mentions, tags and polls (every page holds each)."""
    for n in range(count):
        extra = {"poll": {"options": ["a", "b"], "expires_in": 600}} if n % 3 == 0 else {}
        await post_status(client, tokens[n % len(tokens)], f"@alice #kites n{n}", **extra)


def _assert_constant(cold: list[int], warm: list[int]) -> None:
    assert cold[0] == cold[1], cold
    assert warm[0] == warm[1], warm
    assert warm[0] < cold[0]


@pytest.mark.slow
async def test_public_and_hashtag_query_counts(app: FastAPI, client: AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    _carol, carol_token = await user_with_token(app, "carol")
    await _mixed_posts(client, [bob_token, carol_token], 40)
    for url in ("/api/v1/timelines/public", "/api/v1/timelines/tag/kites"):
        for token in (alice_token, None):
            _assert_constant(*await read_costs(app, client, url, token, [5, 40]))


@pytest.mark.slow
async def test_list_timeline_query_counts(app: FastAPI, client: AsyncClient) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    carol, carol_token = await user_with_token(app, "carol")
    headers = auth(alice_token)
    for account in (bob, carol):
        await client.post(f"/api/v1/accounts/{account.id}/follow", headers=headers)
    lst = (await client.post("/api/v1/lists", data={"title": "Friends"}, headers=headers)).json()
    added = await client.post(
        f"/api/v1/lists/{lst['id']}/accounts",
        data={"account_ids[]": [str(bob.id), str(carol.id)]},
        headers=headers,
    )
    assert added.status_code == 200, added.text
    await _mixed_posts(client, [bob_token, carol_token], 40)
    url = f"/api/v1/timelines/list/{lst['id']}"
    _assert_constant(*await read_costs(app, client, url, alice_token, [5, 40]))
