"""Rebuilding a cold home feed reads what the viewer's follows wrote, not the statuses table:
a viewer who follows one quiet account among 30,000 statuses by others costs a handful of
rows (docs/benchmarks.md, "Flat under growth"). The statements the cold read really runs
are captured and EXPLAIN ANALYZEd on PostgreSQL; the rows every plan node on `statuses`
produced or dropped are summed (as one statement, newest first, the rebuild walked the
primary key backwards through all 30,000)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import insert

from connecthub.statuses.models import Status, Visibility
from tests.social_factories import auth, post_status, user_with_token
from tests.timelines.support import home_ids, redis_feed, settle
from tests.timelines.test_query_plans import STATUSES, _seed, capturing


def _rows_on_statuses(node: dict[str, Any]) -> int:
    """Rows the plan's nodes on `statuses` returned or removed, over all their loops."""
    rows = 0
    if node.get("Relation Name") == "statuses":
        loops = int(node.get("Actual Loops", 1))
        rows += loops * int(node.get("Actual Rows", 0))
        rows += loops * int(node.get("Rows Removed by Filter", 0))
        rows += loops * int(node.get("Rows Removed by Index Recheck", 0))
    for child in node.get("Plans", []):
        rows += _rows_on_statuses(child)
    return rows


async def test_a_cold_feed_is_rebuilt_from_the_followed_accounts_alone(
    app: FastAPI, client: AsyncClient
) -> None:
    if app.state.engines.db.is_sqlite or redis_feed(app) is None:
        pytest.skip("feeds are rebuilt on Redis; the rows a plan read are PostgreSQL's figure")
    crowd, _ = await user_with_token(app, "crowd")
    await _seed(app, crowd.id)  # 30,000 statuses by 60 authors
    viewer, token = await user_with_token(app, "viewer")
    quiet, quiet_token = await user_with_token(app, "quiet")
    posted = await client.post(
        "/api/v1/statuses", json={"status": "now and then"}, headers=auth(quiet_token)
    )
    assert posted.status_code == 200, posted.text
    followed = await client.post(f"/api/v1/accounts/{quiet.id}/follow", headers=auth(token))
    assert followed.status_code == 200, followed.text
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            insert(Status),
            [
                {"id": 1000 + n, "account_id": quiet.id, "visibility": int(Visibility.PUBLIC)}
                for n in range(3)
            ],
        )  # three very old posts: the rebuild goes back to the beginning of time for them
    await settle(app)
    store = redis_feed(app)
    assert store is not None
    await store.redis.delete(store.key(viewer.id))

    with capturing(app) as seen:
        response = await client.get("/api/v1/timelines/home", headers=auth(token))
    assert response.status_code == 200, response.text
    assert [s["id"] for s in response.json()] == [posted.json()["id"], "1002", "1001", "1000"]
    assert await store.is_warm(viewer.id)

    read = 0
    async with app.state.engines.db.primary.connect() as connection:
        for statement, parameters in seen:
            if "statuses" not in statement.lower() or not statement.lstrip().upper().startswith(
                "SELECT"
            ):
                continue
            result = await connection.exec_driver_sql(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters
            )
            raw = result.scalar_one()
            document = json.loads(raw) if isinstance(raw, str) else raw
            read += _rows_on_statuses(document[0]["Plan"])
    assert read < 100, f"the cold read touched {read} rows of statuses ({STATUSES} by others)"


@pytest.mark.slow
async def test_pages_older_than_a_truncated_feed_move_on_from_their_cursor(
    app_factory: Any,
) -> None:
    """Past the oldest id a capped feed holds, a page starts at its own `max_id`, not at the
    feed's end (which answered the same statuses again, page after page); and while a feed
    is being built, pages come from the database."""
    async with app_factory(HOME_FEED_MAX_ITEMS=40) as (app, client):
        alice, alice_token = await user_with_token(app, "alice")
        bob, bob_token = await user_with_token(app, "bob")
        await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=auth(alice_token))
        await home_ids(app, client, alice_token)
        posted = [(await post_status(client, bob_token, f"n{n}"))["id"] for n in range(50)]
        await settle(app)
        newest_first = posted[::-1]
        assert await home_ids(app, client, alice_token, max_id=posted[5], limit=3) == [
            posted[4],
            posted[3],
            posted[2],
        ]
        assert await home_ids(app, client, alice_token, max_id=posted[1]) == [posted[0]]
        store = redis_feed(app)
        pages: list[str] = []
        cursor: dict[str, Any] = {}
        for _page in range(6):  # the whole home, 9 at a time, as a client scrolls
            ids = await home_ids(app, client, alice_token, limit=9, **cursor)
            pages += ids
            cursor = {"max_id": ids[-1]} if ids else cursor
        assert pages == newest_first
        if store is not None:
            await store.redis.delete(store.key(alice.id))
            assert await store.claim(alice.id) is not None  # a build under way elsewhere
            assert await home_ids(app, client, alice_token, limit=4) == newest_first[:4]
            page = await home_ids(app, client, alice_token, max_id=posted[30], since_id=posted[27])
            assert page == [posted[29], posted[28]]
