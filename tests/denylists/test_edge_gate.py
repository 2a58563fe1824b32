"""`no_access` IP blocks refused on every request, as Mastodon's Rack::Attack refuses them:
the edge's in-process gate (http/ip_gate.py), kept current by denylists/gate.py. A block
made through the admin API on one server process reaches another (distributed mode: the
event goes through Redis); removing it lets the address back in; other addresses are
served throughout; the streaming WebSocket is turned away too."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.exceptions import InvalidStatus

from connecthub.accounts.models import Role
from connecthub.clock import utcnow
from connecthub.http.ip_gate import IpGate, Network
from tests.admin.support import staff
from tests.conftest import running_app
from tests.social_factories import user_with_token
from tests.streaming.support import api, multi_process, servers, websocket
from tests.support import probe

if TYPE_CHECKING:
    from tests.conftest import TestEnv

BLOCKED = "198.51.100.7"
BLOCKED_V6 = "2001:db8:7::1"
ELSEWHERE = "203.0.113.5"
WAIT_SECONDS = 15.0


@pytest.fixture
async def factory_app(test_env: TestEnv) -> AsyncIterator[FastAPI]:
    """The app in this test process, on the servers' database: fixtures only."""
    async with running_app(test_env) as (app, _client):
        yield app


def test_the_gate_matches_ranges_of_both_families() -> None:
    gate = IpGate()
    assert gate.refuses(BLOCKED) is False  # empty: nothing refused
    gate.replace([Network("198.51.100.0/24"), Network("2001:db8:7::/48"), Network("junk")])
    assert [n.cidr for n in gate.networks] == ["198.51.100.0/24", "2001:db8:7::/48"]
    assert gate.refuses(BLOCKED)
    assert gate.refuses(BLOCKED)  # remembered
    assert gate.refuses("::ffff:198.51.100.200")  # IPv4-mapped IPv6
    assert gate.refuses(BLOCKED_V6)
    assert not gate.refuses("198.51.101.7")
    assert not gate.refuses("2001:db8:8::1")
    assert not gate.refuses(ELSEWHERE)
    assert not gate.refuses("not an address")
    assert not gate.refuses(None)
    gate.replace([])
    assert not gate.refuses(BLOCKED)  # a change forgets the remembered verdicts


def test_a_lapsed_block_refuses_nothing() -> None:
    now = utcnow().timestamp()
    gate = IpGate([Network("198.51.100.0/24", now + 3600), Network("192.0.2.0/24", now - 1)])
    assert gate.refuses(BLOCKED)
    assert not gate.refuses("192.0.2.1")
    assert [n.cidr for n in gate.networks] == ["198.51.100.0/24"]
    gate.replace([Network("198.51.100.0/24", time.time() + 0.2)])
    assert gate.refuses(BLOCKED)
    time.sleep(0.3)
    assert not gate.refuses(BLOCKED)


async def _from(server: Any, address: str, path: str, token: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": address}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(
        base_url=server.url, timeout=WAIT_SECONDS, verify=probe.ssl_context()
    ) as client:
        return await client.get(path, headers=headers)


async def _until_status(server: Any, address: str, path: str, status: int) -> httpx.Response:
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        response = await _from(server, address, path)
        if response.status_code == status:
            return response
        assert asyncio.get_running_loop().time() < deadline, (response.status_code, path)
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_a_no_access_block_refuses_every_request_on_every_process(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    _, admin_token = await staff(factory_app, "boss", Role.ADMIN)
    _, person_token = await user_with_token(factory_app, "person")
    with servers(test_env, 2 if multi_process() else 1) as started:
        admin_server, other = started[0], started[-1]
        assert (
            await _from(other, BLOCKED, "/api/v1/accounts/verify_credentials", person_token)
        ).status_code == 200

        made = await api(
            admin_server,
            "POST",
            "/api/v1/admin/ip_blocks",
            admin_token,
            json={"ip": "198.51.100.0/24", "severity": "no_access", "comment": "abuse"},
        )
        assert made.status_code == 200, made.text

        refused = await _until_status(other, BLOCKED, "/api/v1/instance", 403)
        assert refused.json() == {"error": "This action is not allowed"}
        assert refused.headers["x-request-id"]
        for path in ("/api/v1/accounts/verify_credentials", "/api/v1/timelines/public", "/"):
            assert (await _from(other, BLOCKED, path, person_token)).status_code == 403
        posted = await _post_from(other, BLOCKED, person_token)
        assert posted.status_code == 403
        with pytest.raises(InvalidStatus) as turned_away:
            async with websocket(
                other,
                person_token,
                query={"stream": "public"},
                additional_headers={"X-Forwarded-For": BLOCKED},
            ):
                pass
        assert turned_away.value.response.status_code == 403
        # Anyone else is served.
        assert (await _from(other, ELSEWHERE, "/api/v1/instance")).status_code == 200

        removed = await api(
            admin_server, "DELETE", f"/api/v1/admin/ip_blocks/{made.json()['id']}", admin_token
        )
        assert removed.status_code == 200, removed.text
        await _until_status(other, BLOCKED, "/api/v1/instance", 200)


async def _post_from(server: Any, address: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(
        base_url=server.url, timeout=WAIT_SECONDS, verify=probe.ssl_context()
    ) as client:
        return await client.post(
            "/api/v1/statuses",
            json={"status": "let me in"},
            headers={"X-Forwarded-For": address, "Authorization": f"Bearer {token}"},
        )


async def test_sign_up_only_blocks_do_not_refuse_requests(
    test_env: TestEnv, factory_app: FastAPI
) -> None:
    _, admin_token = await staff(factory_app, "boss", Role.ADMIN)
    with servers(test_env, 1) as [server]:
        for severity, cidr in (("sign_up_block", "198.51.100.0/24"), ("no_access", "192.0.2.0/24")):
            made = await api(
                server,
                "POST",
                "/api/v1/admin/ip_blocks",
                admin_token,
                json={"ip": cidr, "severity": severity},
            )
            assert made.status_code == 200, made.text
        await _until_status(server, "192.0.2.1", "/api/v1/instance", 403)
        assert (await _from(server, BLOCKED, "/api/v1/instance")).status_code == 200
