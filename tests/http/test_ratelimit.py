"""Rate limits through HTTP, on the engines of the run: headers, refusals, penalties, client
addresses (proxies, IPv6 /64), per-token and per-account buckets, the stricter path buckets
and the per-e-mail sign-in check. Any /api/ path is limited whether or not a route answers
it, so these tests do not depend on other endpoints.

Limits here are per day unless a test is about windows passing: windows are aligned to
their period, and a day-long one makes a test straddling a window boundary practically
impossible.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from connecthub.config import RateLimit
from connecthub.errors import TooManyRequests
from connecthub.infra.rate_limiters import MemoryRateLimiter, RedisRateLimiter
from connecthub.infra.ratelimit import RateLimitDecision
from connecthub.infra.redis import KeySpace, connect_redis
from connecthub.ratelimits import check_sign_in_email, hit, hit_all_near, hit_near
from tests.factories import create_token, create_user

# Counts up to lockouts in fixed windows (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("clear_of_rate_window_edges")

API_PATH = "/api/v1/instance"


@contextlib.asynccontextmanager
async def client_from(app: FastAPI, peer: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another client on the same running app (same limiter state), from `peer`."""
    transport = httpx.ASGITransport(app=app, client=(peer, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def _refused_count(bucket: str) -> float:
    return REGISTRY.get_sample_value("connecthub_rate_limited_total", {"bucket": bucket}) or 0.0


async def _exceed(client: httpx.AsyncClient, **request: object) -> httpx.Response:
    """Send until refused; return the refusal."""
    for _ in range(100):
        response = await client.get(API_PATH, **request)  # type: ignore[arg-type]
        if response.status_code == 429:
            return response
    raise AssertionError("never refused")


async def _wait_until_allowed(client: httpx.AsyncClient) -> None:
    """Poll (each poll is a request) until one gets through."""
    for _ in range(600):
        if (await client.get(API_PATH)).status_code != 429:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("still refused after 30 s")


async def test_refuses_after_the_limit_with_headers(app_factory) -> None:
    before = _refused_count("ip")
    started = datetime.now(UTC)
    async with app_factory(peer="198.51.100.7", rate_limit_ip="3/86400") as (_app, client):
        responses = [await client.get(API_PATH) for _ in range(3)]
        assert all(r.status_code != 429 for r in responses)
        assert [r.headers["x-ratelimit-limit"] for r in responses] == ["3", "3", "3"]
        assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["2", "1", "0"]
        reset = datetime.fromisoformat(responses[0].headers["x-ratelimit-reset"])
        assert reset.tzinfo is not None
        assert started < reset <= started + timedelta(days=1, seconds=1)
        assert "retry-after" not in responses[0].headers

        refused = await client.get(API_PATH)
        assert refused.status_code == 429
        assert refused.json() == {"error": "Too many requests"}
        assert refused.headers["content-type"] == "application/json"
        assert 1 <= int(refused.headers["retry-after"]) <= 86400
        assert refused.headers["x-ratelimit-limit"] == "3"
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert refused.headers["x-ratelimit-reset"] == responses[0].headers["x-ratelimit-reset"]
        assert refused.headers["x-content-type-options"] == "nosniff"
        assert refused.headers["x-frame-options"] == "DENY"
        assert "content-security-policy" in refused.headers
        assert "x-request-id" in refused.headers
        assert _refused_count("ip") == before + 1

        # Probes and metrics are never limited, and carry no rate-limit headers.
        live = await client.get("/health/live")
        assert live.status_code == 200
        assert "x-ratelimit-limit" not in live.headers
        assert (await client.get("/metrics")).status_code == 200


async def test_oauth_responses_carry_the_headers(app_factory) -> None:
    async with app_factory(rate_limit_ip="5/86400") as (_app, client):
        response = await client.get("/oauth/authorize")
        assert response.headers["x-ratelimit-limit"] == "5"
        assert response.headers["x-ratelimit-remaining"] == "4"


async def test_disabled_limiter_lets_everything_through(app_factory) -> None:
    async with app_factory(rate_limit_enabled=False, rate_limit_ip="1/86400") as (_app, client):
        for _ in range(5):
            response = await client.get(API_PATH)
            assert response.status_code != 429
            assert "x-ratelimit-limit" not in response.headers


@pytest.mark.slow
async def test_repeat_offender_is_locked_out_for_doubling_periods(app_factory) -> None:
    async with app_factory(
        peer="198.51.100.20",
        rate_limit_ip="2/1",
        rate_limit_penalty_base_seconds=2,
        rate_limit_penalty_max_seconds=60,
    ) as (_app, client):
        first = await _exceed(client)
        assert int(first.headers["retry-after"]) == 1  # until the one-second window ends

        await _wait_until_allowed(client)
        second = await _exceed(client)
        assert int(second.headers["retry-after"]) == 2  # locked out: the base

        await _wait_until_allowed(client)
        third = await _exceed(client)
        assert int(third.headers["retry-after"]) == 4  # doubled
        assert third.headers["x-ratelimit-remaining"] == "0"


async def test_forwarded_for_counts_only_from_trusted_proxies(app_factory) -> None:
    async with app_factory(rate_limit_ip="2/86400") as (app, _client):
        # An untrusted peer cannot pick a fresh bucket by claiming to be someone else.
        async with client_from(app, "203.0.113.9") as spoofer:
            for number in range(2):
                spoofed = {"X-Forwarded-For": f"192.0.2.{number + 1}"}
                assert (await spoofer.get(API_PATH, headers=spoofed)).status_code != 429
            refused = await spoofer.get(API_PATH, headers={"X-Forwarded-For": "192.0.2.99"})
            assert refused.status_code == 429

        # Behind a trusted proxy (127.0.0.1 by default), each forwarded client has its own.
        async with client_from(app, "127.0.0.1") as proxy:
            first = {"X-Forwarded-For": "198.51.100.1"}
            assert (await proxy.get(API_PATH, headers=first)).status_code != 429
            assert (await proxy.get(API_PATH, headers=first)).status_code != 429
            assert (await proxy.get(API_PATH, headers=first)).status_code == 429
            other = await proxy.get(API_PATH, headers={"X-Forwarded-For": "198.51.100.2"})
            assert other.status_code != 429
            # The proxy's own address is a third, untouched bucket.
            assert (await proxy.get(API_PATH)).status_code != 429


async def test_ipv6_clients_share_a_bucket_per_64(app_factory) -> None:
    async with (
        app_factory(rate_limit_ip="2/86400") as (app, _client),
        client_from(app, "2001:db8:1:2::1") as first,
        client_from(app, "2001:db8:1:2:ffff:ffff:ffff:ffff") as same_64,
        client_from(app, "2001:db8:1:3::1") as other_64,
    ):
        assert (await first.get(API_PATH)).status_code != 429
        assert (await same_64.get(API_PATH)).status_code != 429
        assert (await first.get(API_PATH)).status_code == 429
        assert (await same_64.get(API_PATH)).status_code == 429
        assert (await other_64.get(API_PATH)).status_code != 429


async def test_authenticated_requests_use_token_and_account_buckets(app_factory) -> None:
    async with app_factory(
        rate_limit_ip="1/86400", rate_limit_token="3/86400", rate_limit_account="5/86400"
    ) as (app, client):
        account, _user = await create_user(app, "ratelimited")
        phone = {"Authorization": f"Bearer {await create_token(app, account.id)}"}
        laptop = {"Authorization": f"Bearer {await create_token(app, account.id)}"}

        responses = [await client.get(API_PATH, headers=phone) for _ in range(3)]
        assert all(r.status_code != 429 for r in responses)
        # The tighter of token (3) and account (5) is reported.
        assert [r.headers["x-ratelimit-limit"] for r in responses] == ["3", "3", "3"]
        assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["2", "1", "0"]
        refused = await client.get(API_PATH, headers=phone)
        assert refused.status_code == 429
        assert refused.headers["x-ratelimit-limit"] == "3"

        # Another token of the same account has its own token bucket but shares the
        # account's; the refused request above did not use up the account's budget.
        allowed = await client.get(API_PATH, headers=laptop)
        assert allowed.status_code != 429
        assert allowed.headers["x-ratelimit-limit"] == "5"
        assert allowed.headers["x-ratelimit-remaining"] == "1"  # account: 1, token: 2
        last = await client.get(API_PATH, headers=laptop)
        assert last.status_code != 429
        assert last.headers["x-ratelimit-limit"] == "5"
        assert last.headers["x-ratelimit-remaining"] == "0"
        refused = await client.get(API_PATH, headers=laptop)
        assert refused.status_code == 429
        assert refused.headers["x-ratelimit-limit"] == "5"

        # None of that touched the anonymous per-IP bucket.
        anonymous = await client.get(API_PATH)
        assert anonymous.status_code != 429
        assert anonymous.headers["x-ratelimit-limit"] == "1"


async def test_invalid_tokens_reach_the_route_and_count_per_ip(app_factory) -> None:
    async with app_factory(rate_limit_ip="2/86400") as (_app, client):
        bogus = {"Authorization": "Bearer not-a-real-token"}
        # A route that reads the caller answers 401; the limiter only counted the request.
        first = await client.get("/api/v1/accounts/verify_credentials", headers=bogus)
        assert first.status_code in (401, 404)
        assert first.headers["x-ratelimit-limit"] == "2"
        assert (await client.get(API_PATH, headers=bogus)).status_code != 429
        assert (await client.get(API_PATH)).status_code == 429


STRICT_BUCKETS = [
    pytest.param(
        "rate_limit_sign_up", ["POST /api/v1/accounts", "POST /auth/sign_up"], id="sign-up"
    ),
    pytest.param(
        "rate_limit_sign_in_ip",
        ["POST /oauth/token", "POST /auth/sign_in", "POST /oauth/authorize"],
        id="sign-in",
    ),
    pytest.param(
        "rate_limit_password",
        [
            "POST /auth/password",
            "PUT /auth/password",
            "PATCH /auth/password",
            "POST /api/v1/connecthub/password",
            "POST /api/v1/connecthub/password_reset",
            "POST /auth/password/reset",
        ],
        id="password",
    ),
]


@pytest.mark.parametrize(("setting", "requests"), STRICT_BUCKETS)
async def test_sensitive_paths_have_a_stricter_bucket(app_factory, setting, requests) -> None:
    overrides = {setting: f"{len(requests)}/86400", "rate_limit_ip": "1000/86400"}
    async with app_factory(peer="198.51.100.30", **overrides) as (_app, client):
        for line in requests:
            method, path = line.split()
            response = await client.request(method, path, json={})
            assert response.status_code != 429, line

        method, path = requests[0].split()
        refused = await client.request(method, path, json={})
        assert refused.status_code == 429
        assert refused.json() == {"error": "Too many requests"}
        assert refused.headers["x-ratelimit-limit"] == str(len(requests))
        assert int(refused.headers["retry-after"]) > 0

        # The general bucket is nowhere near its limit: other API calls still pass.
        general = await client.get(API_PATH)
        assert general.status_code != 429
        assert general.headers["x-ratelimit-limit"] == "1000"


async def test_reading_the_password_form_is_not_counted(app_factory) -> None:
    async with app_factory(rate_limit_password="1/86400") as (_app, client):
        for _ in range(3):
            assert (await client.get("/auth/password/new")).status_code != 429
        assert (await client.post("/auth/password", json={})).status_code != 429
        assert (await client.post("/auth/password", json={})).status_code == 429


async def test_sign_in_email_limit(app_factory) -> None:
    async with app_factory(rate_limit_sign_in_email="2/86400") as (app, _client):
        engines = app.state.engines
        await check_sign_in_email(engines, "Alice@Example.com")
        await check_sign_in_email(engines, " alice@example.com")
        with pytest.raises(TooManyRequests) as refused:
            await check_sign_in_email(engines, "ALICE@example.com")
        assert refused.value.status_code == 429
        assert 1 <= int(refused.value.headers["Retry-After"]) <= 86400
        await check_sign_in_email(engines, "bob@example.com")  # other addresses unaffected

        if engines.redis is not None:
            prefix = engines.settings.redis_key_prefix
            keys = [key.decode() async for key in engines.redis.scan_iter(match=f"{prefix}*")]
            assert any("sign_in_email" in key for key in keys)
            assert not any("alice" in key.lower() or "@" in key for key in keys)


@pytest.mark.slow
async def test_limiter_outage_fails_open(app_factory) -> None:
    async with app_factory(rate_limit_ip="1/86400") as (app, client):
        # A real Redis client pointed at a port nothing listens on.
        broken = connect_redis("redis://127.0.0.1:1/0")
        healthy = app.state.engines.ratelimiter
        app.state.engines.ratelimiter = RedisRateLimiter(
            broken, KeySpace(f"unused:{uuid.uuid4().hex}:"), app.state.settings
        )
        try:
            for _ in range(3):
                response = await client.get(API_PATH)
                assert response.status_code not in (429, 500)
                assert "x-ratelimit-limit" not in response.headers
            await check_sign_in_email(app.state.engines, "alice@example.com")
        finally:
            app.state.engines.ratelimiter = healthy
            await broken.aclose()


class _FailingLimiter(MemoryRateLimiter):
    """A limiter whose store is gone: every round trip fails (as Redis down)."""

    async def hit(self, bucket: str, key: str, limit: RateLimit) -> RateLimitDecision:
        raise ConnectionError("the limiter's store is unreachable")


async def test_an_outage_pauses_only_the_limiter_that_failed(app_factory) -> None:
    """After one limiter's failure this process stops asking that limiter, not another:
    the near decisions (requests answered with no await) of a healthy one go on."""
    async with app_factory() as (app, _client):
        engines = app.state.engines
        settings = app.state.settings
        limit = settings.rate_limit_ip
        failing = _FailingLimiter(settings)
        assert await hit(SimpleNamespace(ratelimiter=failing), "ip", "192.0.2.1", limit) is None
        failed = SimpleNamespace(ratelimiter=failing)
        assert hit_all_near(failed, [("ip", "192.0.2.1", limit)]) is None
        assert await hit(engines, "ip", "192.0.2.2", limit) is not None  # counted: near now
        assert hit_all_near(engines, [("ip", "192.0.2.2", limit)]) is not None
        decided = hit_near(engines, "ip", "192.0.2.2", limit)
        assert decided is not None
        assert decided.allowed
