"""Content similarity: an account's vector is the mean embedding of its latest public posts
(private ones never go in), and suggestions bring accounts that write like the ones a
person follows, with no tie in the follow graph."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from connecthub.explore.models import AccountVector
from tests.explore.support import embed
from tests.social_factories import auth, follow, post_status, user_with_token

COOKING = [
    "Slow-roasted tomatoes with garlic and basil make the best pasta sauce",
    "Today I baked sourdough bread with a crispy crust and an open crumb",
    "My favourite recipe: spicy noodle soup with ginger, chili and fresh herbs",
]
KERNELS = [
    "The Linux kernel scheduler reduced latency after the patch to the run queue",
    "Compiling the kernel with debug symbols to trace a memory leak in the driver",
    "Profiling interrupt handlers and lock contention on a multicore server",
]


async def _vectors(app: FastAPI) -> dict[int, int]:
    async with app.state.engines.db.session() as session:
        rows = await session.scalars(select(AccountVector))
        return {row.account_id: row.statuses for row in rows}


@pytest.mark.slow
async def test_suggestions_bring_accounts_that_write_alike(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    viewer, token = await user_with_token(app, "viewer")
    chef, chef_token = await user_with_token(app, "chef")
    baker, baker_token = await user_with_token(app, "baker")
    hacker, hacker_token = await user_with_token(app, "hacker")
    secretive, secret_token = await user_with_token(app, "secretive")
    for text in COOKING:
        await post_status(client, chef_token, text)
        await post_status(client, baker_token, text.replace("My", "Our").lower())
    for text in KERNELS:
        await post_status(client, hacker_token, text)
    await post_status(client, secret_token, COOKING[0], visibility="private")
    await follow(app, viewer.id, chef.id)

    assert await embed(app) == 4  # the four that posted
    assert await _vectors(app) == {chef.id: 3, baker.id: 3, hacker.id: 3, secretive.id: 0}
    assert await embed(app) == 0  # nothing new since

    found = await client.get("/api/v2/suggestions", headers=auth(token))
    ranked = [(s["account"]["username"], s["sources"]) for s in found.json()]
    assert ranked[0] == ("baker", ["similar_to_recently_followed"])
    similar = [name for name, sources in ranked if "similar_to_recently_followed" in sources]
    assert "secretive" not in similar  # nothing public to compare
    if "hacker" in similar:  # kernels read less like cooking than baking does
        assert similar.index("hacker") > similar.index("baker")

    await post_status(client, hacker_token, "Another kernel patch for the block layer")
    assert await embed(app) == 1  # only the account that posted again
