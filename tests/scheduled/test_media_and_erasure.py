"""Media a scheduled status holds: not attachable elsewhere, never swept as unattached,
free again when it is cancelled; and an account's erasure removes its scheduled statuses
with their media."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from connecthub.clock import utcnow
from connecthub.infra.jobs import HANDLERS, JobContext
from connecthub.media import service as media_service
from connecthub.media.models import MediaAttachment
from connecthub.privacy.erasure import erase
from tests.media import files
from tests.media.support import upload
from tests.scheduled.support import SCHEDULED, schedule, scheduled_count
from tests.social_factories import auth, user_with_token
from tests.statuses.support import count_rows


async def _age(app: Any, media_id: str) -> None:
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            update(MediaAttachment)
            .where(MediaAttachment.id == int(media_id))
            .values(created_at=utcnow() - timedelta(days=3))
        )


async def _expire(app: Any) -> None:
    await HANDLERS[media_service.EXPIRE_JOB](JobContext(app.state.engines, "test", 1), {})


async def test_held_media_are_neither_attachable_nor_swept(app: Any, client: Any) -> None:
    _alice, token = await user_with_token(app, "alice")
    media = (await upload(client, token, files.png(20, 20, seed=81))).json()
    entity = (await schedule(client, token, "Later", media_ids=[media["id"]])).json()
    assert entity["media_attachments"][0]["id"] == media["id"]
    elsewhere = await client.post(
        "/api/v1/statuses", json={"status": "now", "media_ids": [media["id"]]}, headers=auth(token)
    )
    assert elsewhere.status_code == 422
    assert "media_ids" in elsewhere.json()["error"]
    twice = await schedule(client, token, "Also later", media_ids=[media["id"]])
    assert twice.status_code == 422
    await _age(app, media["id"])
    await _expire(app)
    assert await count_rows(app, MediaAttachment, MediaAttachment.id == int(media["id"])) == 1
    listed = (await client.get(SCHEDULED, headers=auth(token))).json()
    assert listed[0]["media_attachments"][0]["id"] == media["id"]
    # Cancelled: unattached again, attachable, and expiring a full day from now.
    assert (
        await client.delete(f"{SCHEDULED}/{entity['id']}", headers=auth(token))
    ).status_code == 200
    await _expire(app)
    assert await count_rows(app, MediaAttachment, MediaAttachment.id == int(media["id"])) == 1
    posted = await client.post(
        "/api/v1/statuses", json={"status": "now", "media_ids": [media["id"]]}, headers=auth(token)
    )
    assert posted.status_code == 200, posted.text


async def test_another_persons_media_cannot_be_scheduled(app: Any, client: Any) -> None:
    _alice, alice_token = await user_with_token(app, "alice")
    _bob, bob_token = await user_with_token(app, "bob")
    media = (await upload(client, alice_token, files.png(20, 20, seed=82))).json()
    answer = await schedule(client, bob_token, "Mine?", media_ids=[media["id"]])
    assert answer.status_code == 422
    assert "media_ids" in answer.json()["error"]


async def test_erasure_removes_scheduled_statuses_and_their_media(app: Any, client: Any) -> None:
    alice, token = await user_with_token(app, "alice")
    media = (await upload(client, token, files.png(20, 20, seed=83))).json()
    await schedule(client, token, "Later", media_ids=[media["id"]])
    await schedule(client, token, "Even later")
    assert await scheduled_count(app, alice.id) == 2
    outcome = await erase(app.state.engines, alice.id)
    assert outcome.finished
    assert await scheduled_count(app, alice.id) == 0
    assert await count_rows(app, MediaAttachment, MediaAttachment.account_id == alice.id) == 0
