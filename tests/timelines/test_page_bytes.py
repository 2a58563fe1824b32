"""The timelines' byte path (statuses/entity_bytes.py: cached renderings with the per-read
parts spliced in) answers exactly what the one converter (`status_entities`) builds for the
same rows and viewer: a varied page, cold and warm, on both engines."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from connecthub.accounts.models import OAuthApplication
from connecthub.statuses.models import Status
from connecthub.statuses.serializers import status_entities
from tests.factories import create_token
from tests.filters.support import create_filter
from tests.media.files import png
from tests.media.support import upload
from tests.social_factories import auth, post_status, user_with_token
from tests.timelines.support import settle

pytestmark = pytest.mark.slow  # over the fast loop's bar (tests/conftest.py)


async def _converted(
    app: FastAPI, answer: list[dict[str, Any]], viewer_id: int | None, context: str
) -> list[dict[str, Any]]:
    """The same statuses (and any a `hide` filter left out), through `status_entities`."""
    ids = [int(entity["id"]) for entity in answer]
    async with app.state.engines.db.session() as session:
        rows = {r.id: r for r in await session.scalars(select(Status).where(Status.id.in_(ids)))}
        ordered = [rows[i] for i in ids]
        entities = await status_entities(
            session, ordered, viewer_id, app.state.settings, context=context
        )
    return [dict(entity) for entity in entities]


def assert_same(answer: list[dict[str, Any]], converted: list[dict[str, Any]]) -> None:
    """Equal lists; a failure names the status and the keys that differ."""
    assert [s["id"] for s in answer] == [s["id"] for s in converted]
    for ours, theirs in zip(answer, converted, strict=True):
        keys = sorted(set(ours) | set(theirs))
        differing = {k: (ours.get(k), theirs.get(k)) for k in keys if ours.get(k) != theirs.get(k)}
        assert not differing, f"status {ours['id']}: {differing}"


async def _varied_home(app: FastAPI, client: httpx.AsyncClient) -> tuple[int, str]:
    """A reader whose home holds boosts, a poll (voted), media, mentions, tags, an edit,
    a boost undone, their own post (with its application), flags and filter results."""
    reader, _token = await user_with_token(app, "reader")
    async with app.state.engines.db.transaction() as session:
        client_app = OAuthApplication(
            name="Reader's client",
            website="https://client.example",
            redirect_uris=["urn:ietf:wg:oauth:2.0:oob"],
            scopes="read write follow push",
            client_id="reader-client",
            client_secret_hash="-",
        )
        session.add(client_app)
        await session.flush()
        client_app_id = client_app.id
    reader_token = await create_token(app, reader.id, application_id=client_app_id)
    author, author_token = await user_with_token(app, "author")
    booster, booster_token = await user_with_token(app, "booster")
    for followed in (author, booster):
        answer = await client.post(
            f"/api/v1/accounts/{followed.id}/follow", headers=auth(reader_token)
        )
        assert answer.status_code == 200, answer.text
    media = await upload(client, author_token, png(), filename="a.png", content_type="image/png")
    assert media.status_code in (200, 202), media.text
    with_media = await post_status(
        client,
        author_token,
        "look @reader #kites",
        media_ids=[media.json()["id"]],
        sensitive=True,
        spoiler_text="cw",
    )
    poll = await post_status(
        client, author_token, "choose", poll={"options": ["a", "b"], "expires_in": 600}
    )
    voted = await client.post(
        f"/api/v1/polls/{poll['poll']['id']}/votes",
        json={"choices": [1]},
        headers=auth(reader_token),
    )
    assert voted.status_code == 200, voted.text
    edited = await post_status(client, author_token, "first words")
    changed = await client.put(
        f"/api/v1/statuses/{edited['id']}",
        json={"status": "second words #edits"},
        headers=auth(author_token),
    )
    assert changed.status_code == 200, changed.text
    spoiler = await post_status(client, author_token, "the butler did it")
    hidden = await post_status(client, author_token, "an unwanted word")
    for target in (poll, with_media):
        boosted = await client.post(
            f"/api/v1/statuses/{target['id']}/reblog", headers=auth(booster_token)
        )
        assert boosted.status_code == 200, boosted.text
    undone = await post_status(client, author_token, "boosted, then not")
    await client.post(f"/api/v1/statuses/{undone['id']}/reblog", headers=auth(booster_token))
    # Let the boost's fan-out job finish first, as a person undoing a boost would.
    await settle(app)
    await client.post(f"/api/v1/statuses/{undone['id']}/unreblog", headers=auth(booster_token))
    reply = await post_status(
        client, booster_token, "@author a reply", in_reply_to_id=with_media["id"]
    )
    own = await post_status(client, reader_token, "mine", visibility="private")
    own_public = await post_status(client, reader_token, "mine, boosted by me")
    for action, target in (
        ("favourite", with_media),
        ("bookmark", poll),
        ("reblog", edited),
        ("pin", own),
        ("favourite", reply),
        ("reblog", own_public),
    ):
        answer = await client.post(
            f"/api/v1/statuses/{target['id']}/{action}", headers=auth(reader_token)
        )
        assert answer.status_code == 200, answer.text
    await create_filter(client, reader_token, "warn", keywords=[{"keyword": "butler"}])
    await create_filter(
        client, reader_token, "hide", filter_action="hide", keywords=[{"keyword": "unwanted"}]
    )
    del spoiler, hidden
    return reader.id, reader_token


@pytest.mark.slow
async def test_home_bytes_equal_the_converter(app: FastAPI, client: httpx.AsyncClient) -> None:
    reader_id, reader_token = await _varied_home(app, client)
    await settle(app)
    for _read in ("cold", "warm"):
        answer = await client.get("/api/v1/timelines/home?limit=40", headers=auth(reader_token))
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert len(page) >= 10
        assert_same(page, await _converted(app, page, reader_id, "home"))
    texts = [s["content"] for s in page]
    assert not any("unwanted" in text for text in texts)  # left out by the hide filter
    assert any(s["filtered"] for s in page)
    assert any(s["reblog"] and s["reblog"]["poll"] for s in page)
    assert any(s["media_attachments"] for s in page)
    assert any(s["favourited"] for s in page)
    assert any(s["pinned"] for s in page)
    assert any(s["application"] for s in page)
    assert any(s["reblog"] and s["reblog"]["application"] for s in page)


@pytest.mark.slow
async def test_public_bytes_equal_the_converter(app: FastAPI, client: httpx.AsyncClient) -> None:
    reader_id, reader_token = await _varied_home(app, client)
    for viewer_id, headers in ((reader_id, auth(reader_token)), (None, {})):
        answer = await client.get("/api/v1/timelines/public?limit=40", headers=headers)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert_same(page, await _converted(app, page, viewer_id, "public"))
        if viewer_id is None:
            assert all("favourited" not in s for s in page)
