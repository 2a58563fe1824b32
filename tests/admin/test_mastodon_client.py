"""Mastodon.py's admin calls against a real server: moderate (suspend, disable), show,
list, unsuspend and enable, as a moderation client would use them."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from mastodon import Mastodon, MastodonAPIError

from tests.admin.support import staff
from tests.social_factories import user_with_token
from tests.streaming.support import post_status

if TYPE_CHECKING:
    from tests.conftest import LiveServer


def _moderate(server: LiveServer, token: str, victim_id: int) -> dict[str, Any]:
    api = Mastodon(access_token=token, api_base_url=server.url, version_check_mode="none")
    seen: dict[str, Any] = {}
    api.admin_account_moderate(victim_id, "suspend", text="spam", send_email_notification=False)
    seen["suspended"] = api.admin_account(victim_id)
    seen["listed"] = api.admin_accounts_v2(status="suspended")
    seen["unsuspended"] = api.admin_account_unsuspend(victim_id)
    api.admin_account_moderate(victim_id, "disable")
    seen["disabled"] = api.admin_account(victim_id)
    seen["enabled"] = api.admin_account_enable(victim_id)
    api.admin_account_moderate(victim_id, "silence")
    seen["silenced"] = api.admin_account(victim_id)
    seen["unsilenced"] = api.admin_account_unsilence(victim_id)
    api.admin_account_moderate(victim_id, "sensitive")
    seen["sensitized"] = api.admin_account(victim_id)
    seen["unsensitized"] = api.admin_account_unsensitive(victim_id)
    with pytest.raises(MastodonAPIError) as refused:
        api.admin_account_moderate(victim_id, "obliterate")
    seen["type_error"] = refused.value
    return seen


async def test_mastodon_py_moderates_an_account(
    live_server: LiveServer, factory_app: FastAPI
) -> None:
    victim, victim_token = await user_with_token(factory_app, "victim")
    _, mod_token = await staff(factory_app, "moddy")
    await post_status(live_server, victim_token, "hello")

    seen = await asyncio.to_thread(_moderate, live_server, mod_token, victim.id)

    assert seen["suspended"]["suspended"] is True
    assert seen["suspended"]["account"]["username"] == "victim"
    assert [a["username"] for a in seen["listed"]] == ["victim"]
    assert seen["unsuspended"]["suspended"] is False
    assert seen["disabled"]["disabled"] is True
    assert seen["enabled"]["disabled"] is False
    assert seen["silenced"]["silenced"] is True
    assert seen["silenced"]["account"]["limited"] is True
    assert seen["unsilenced"]["silenced"] is False
    assert seen["sensitized"]["sensitized"] is True
    assert seen["unsensitized"]["sensitized"] is False
    assert "422" in str(seen["type_error"])
