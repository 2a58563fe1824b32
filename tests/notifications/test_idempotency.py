"""Creating the same notification twice — in sequence or racing in two transactions —
records it once and publishes it once."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from connecthub import channels
from connecthub.infra.uow import UnitOfWork
from connecthub.notifications.service import NotificationType, notify
from tests.notifications.support import notifications
from tests.social_factories import user_with_token


async def test_racing_transactions_record_one(app: FastAPI, client: httpx.AsyncClient) -> None:
    alice, alice_token = await user_with_token(app, "alice")
    bob, _bob_token = await user_with_token(app, "bob")
    engines = app.state.engines
    subscription = await engines.events.subscribe(channels.user_channel(alice.id))

    async def follow_notification() -> None:
        async with engines.db.session() as session:
            uow = UnitOfWork(engines, session)
            await notify(
                uow,
                recipient_id=alice.id,
                from_account_id=bob.id,
                type=NotificationType.FOLLOW,
                activity_id=42,
            )
            await uow.commit()

    try:
        await asyncio.gather(*(follow_notification() for _ in range(3)))
        await follow_notification()
        first = await asyncio.wait_for(subscription.queue.get(), timeout=10)
    finally:
        await subscription.close()
    [only] = await notifications(client, alice_token)
    assert only["type"] == "follow"
    assert first["payload"] == only
    assert subscription.queue.empty()
