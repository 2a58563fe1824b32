"""Suspending or disabling an account closes its streaming connections (1008) within a
second, on every server process: the WebSocket is served by one `connecthub serve`
process and the moderator's request by ANOTHER (distributed mode, events through Redis).
In embedded mode one process is the whole deployment, so both run on that one."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from websockets.exceptions import ConnectionClosed

from tests.admin.support import staff
from tests.social_factories import user_with_token
from tests.streaming.support import (
    WAIT_SECONDS,
    api,
    multi_process,
    servers,
    subscribed,
    websocket,
)

if TYPE_CHECKING:
    from tests.conftest import TestEnv

# The bound the moderation promises: sockets are gone within a second of the answer.
CLOSE_WITHIN_SECONDS = 1.0


async def _close_code(ws: object) -> int | None:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), WAIT_SECONDS)  # type: ignore[attr-defined]
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


@pytest.mark.parametrize("kind", ["suspend", "disable"])
async def test_the_accounts_sockets_close_on_another_process_within_a_second(
    test_env: TestEnv, factory_app: FastAPI, kind: str
) -> None:
    victim, victim_token = await user_with_token(factory_app, "victim")
    _, bystander_token = await user_with_token(factory_app, "bystander")
    _, mod_token = await staff(factory_app, "moddy")
    with servers(test_env, 2 if multi_process() else 1) as started:
        socket_server, admin_server = started[0], started[-1]
        assert (socket_server is not admin_server) == multi_process()
        async with (
            websocket(socket_server, victim_token, query={"stream": "user"}) as user_ws,
            websocket(socket_server, victim_token, query={"stream": "public"}) as public_ws,
            websocket(socket_server, bystander_token, query={"stream": "public"}) as other_ws,
        ):
            for ws, token in ((user_ws, victim_token), (public_ws, victim_token)):
                await subscribed(ws, socket_server, token)
            acted = await api(
                admin_server,
                "POST",
                f"/api/v1/admin/accounts/{victim.id}/action",
                mod_token,
                json={"type": kind},
            )
            assert acted.status_code == 200, acted.text
            codes = await asyncio.wait_for(
                asyncio.gather(_close_code(user_ws), _close_code(public_ws)),
                CLOSE_WITHIN_SECONDS,
            )
            assert codes == [1008, 1008]
            # Another account's socket on the same process lives on.
            await subscribed(other_ws, socket_server, bystander_token)
        refused = await api(socket_server, "GET", "/api/v1/streaming/user", victim_token)
        assert refused.status_code == 401
