"""Two sign-ups racing for one username: one wins, the other gets a 422, never a 500."""

import asyncio

from tests.accounts.support import api_sign_up


async def test_concurrent_sign_ups_for_one_name_give_one_account_and_one_422(app, client):
    first, second = await asyncio.gather(
        api_sign_up(app, client, "racer"),
        api_sign_up(app, client, "racer", email="racer2@example.com"),
    )
    statuses = sorted([first.status_code, second.status_code])
    assert statuses == [200, 422], (first.text, second.text)
    loser = first if first.status_code == 422 else second
    assert "username" in loser.json()["error"]
