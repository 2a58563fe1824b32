"""The notifications list is written as bytes from the entity cache
(notifications/serializers.notification_page); it must say exactly what the one converter
(`notification_entities`) says for the same notifications: follows, mentions, favourites,
boosts, a warn filter, a hide filter, the viewer's own flags, cold and warm caches."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from fastapi import FastAPI

from connecthub.core.pagination import Page
from connecthub.notifications import repository
from connecthub.notifications.serializers import notification_entities
from tests.filters.support import create_filter
from tests.notifications.support import account_action, notifications, status_action
from tests.social_factories import post_status, user_with_token


async def _by_the_converter(app: FastAPI, viewer_id: int, ids: list[int]) -> list[Any]:
    async with app.state.engines.db.session(readonly=True) as session:
        rows = {row.notification.id: row for row in await repository.rows_by_id(session, ids)}
        ordered = [rows[i] for i in ids if i in rows]
        found = await notification_entities(session, ordered, viewer_id, app.state.settings)
    return list(orjson.loads(orjson.dumps(found)))


async def test_the_bytes_say_what_the_converter_says(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    _carol, carol_token = await user_with_token(app, "carol")
    await account_action(client, bob_token, alice.id, "follow")
    await post_status(client, bob_token, "hey @alice")
    await post_status(client, bob_token, "@alice a spoiler about the ending", spoiler_text="cw")
    await post_status(client, carol_token, "@alice this one is secret")
    own = await post_status(client, alice_token, "a post of mine")
    await status_action(client, bob_token, own["id"], "favourite")
    await status_action(client, carol_token, own["id"], "reblog")
    await status_action(client, alice_token, own["id"], "bookmark")
    await create_filter(
        client, alice_token, "Spoilers", context=["notifications"], keywords=[{"keyword": "ending"}]
    )
    await create_filter(
        client,
        alice_token,
        "Secrets",
        context=["notifications"],
        filter_action="hide",
        keywords=[{"keyword": "secret"}],
    )

    everything = await notifications(client, alice_token, limit="40")  # cold caches
    assert everything == await notifications(client, alice_token, limit="40")  # warm
    types = [n["type"] for n in everything]
    assert types == ["reblog", "favourite", "mention", "mention", "follow"]  # hidden: 1
    warned = everything[2]["status"]
    assert warned["filtered"]
    assert warned["filtered"][0]["filter"]["title"] == "Spoilers"
    assert everything[0]["status"]["bookmarked"] is True
    assert everything[4]["account"]["id"] == str(bob.id)
    assert "status" not in everything[4]

    async with app.state.engines.db.session(readonly=True) as session:
        views = await repository.page_views(session, alice.id, repository.Filters(), Page(limit=40))
    expected = await _by_the_converter(app, alice.id, [v.id for v in views])
    assert everything == expected
