"""Retention: the purge applies each period exactly, on a fake clock: what is due goes,
everything else stays; run again, it finds nothing. The sweeper queues the job once per
interval."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from connecthub import clock
from connecthub.accounts.models import OAuthApplication, OAuthGrant, OAuthToken, WebSession
from connecthub.analytics.models import AnalyticsEvent, AnalyticsKey
from connecthub.infra.idempotency import IdempotencyRecord
from connecthub.infra.sweeper import Sweep
from connecthub.privacy import retention
from connecthub.privacy.tasks import queue_retention
from tests.factories import create_user

NOW = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)


def _ago(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The one clock (connecthub.clock) stopped at NOW."""
    monkeypatch.setattr(clock, "utcnow", lambda: NOW)
    return NOW


def _token(name: str, account_id: int, **fields: Any) -> OAuthToken:
    fields.setdefault("created_at", _ago(days=1))
    return OAuthToken(
        token_hash=f"hash-{name}",
        family_id=hash(name) & 0xFFFFFFF,
        account_id=account_id,
        scopes="read",
        user_agent=name,
        **fields,
    )


def _session(name: str, user_id: int, created: datetime, **fields: Any) -> WebSession:
    return WebSession(
        user_id=user_id,
        secret_hash=f"session-{name}",
        user_agent=name,
        ip="192.0.2.7",
        created_at=created,
        last_seen_at=created,
        **fields,
    )


def _grant(name: str, app_id: int, account_id: int, **fields: Any) -> OAuthGrant:
    return OAuthGrant(
        code_hash=f"code-{name}",
        application_id=app_id,
        account_id=account_id,
        redirect_uri=name,
        scopes="read",
        created_at=_ago(days=30),
        **fields,
    )


async def _seed(app: FastAPI) -> None:
    account, user = await create_user(app, "kept")
    async with app.state.engines.db.transaction() as session:
        oauth_app = OAuthApplication(
            name="app", client_id=secrets.token_hex(8), client_secret_hash="x", scopes="read"
        )
        session.add(oauth_app)
        await session.flush()
        a = account.id
        session.add_all(
            [
                # Sign-in addresses: a year (365 days) after sign-in.
                _token("ip-366d", a, created_at=_ago(days=366), last_used_ip="192.0.2.1"),
                _token("ip-364d", a, created_at=_ago(days=364), last_used_ip="192.0.2.2"),
                # Ended tokens: 90 days after revocation, or after expiry without refresh.
                _token("revoked-91d", a, revoked_at=_ago(days=91)),
                _token("revoked-89d", a, revoked_at=_ago(days=89)),
                _token("expired-91d", a, expires_at=_ago(days=91)),
                _token("refreshable-91d", a, expires_at=_ago(days=91), refresh_token_hash="r-1"),
                _token("active", a, expires_at=None),
                # Browser sessions: 90 days after sign-out, or after their 30-day life.
                _session("revoked-91d", user.id, _ago(days=100), revoked_at=_ago(days=91)),
                _session("revoked-89d", user.id, _ago(days=95), revoked_at=_ago(days=89)),
                _session("ended-121d", user.id, _ago(days=121)),
                _session("ended-119d", user.id, _ago(days=119)),
                _session("live", user.id, _ago(days=2)),
                # One-time codes: 7 days after use or expiry.
                _grant("used-8d", oauth_app.id, a, expires_at=_ago(days=9), used_at=_ago(days=8)),
                _grant("used-6d", oauth_app.id, a, expires_at=_ago(days=7), used_at=_ago(days=6)),
                _grant("expired-8d", oauth_app.id, a, expires_at=_ago(days=8)),
                _grant("pending", oauth_app.id, a, expires_at=_ago(hours=-1)),
                # Idempotency keys: 24 hours.
                IdempotencyRecord(
                    account_id=a, scope="s", key_hash="old", result={}, created_at=_ago(hours=25)
                ),
                IdempotencyRecord(
                    account_id=a, scope="s", key_hash="new", result={}, created_at=_ago(hours=23)
                ),
                # Analytics keys: 35 days after their 7-day period ended (period start before
                # 2031-04-20); events: 35 days after their day (before 2031-04-27).
                AnalyticsKey(id=1, period_start=date(2031, 4, 13), secret=b"old"),
                AnalyticsKey(id=2, period_start=date(2031, 4, 20), secret=b"recent"),
            ]
        )
        await session.flush()
        session.add_all(
            [
                _event(1, date(2031, 4, 19)),
                _event(2, date(2031, 4, 26)),
                _event(2, date(2031, 4, 27)),
            ]
        )


def _event(key_id: int, day: date) -> AnalyticsEvent:
    return AnalyticsEvent(key_id=key_id, subject="s" * 64, kind="post", day=day, cohort="2031-01")


async def _left(app: FastAPI) -> dict[str, Any]:
    async with app.state.engines.db.session(readonly=True) as session:
        tokens = {t.user_agent: t.last_used_ip for t in await session.scalars(select(OAuthToken))}
        sessions = {s.user_agent: s.ip for s in await session.scalars(select(WebSession))}
        grants = sorted(g.redirect_uri for g in await session.scalars(select(OAuthGrant)))
        keys = sorted(r.key_hash for r in await session.scalars(select(IdempotencyRecord)))
        periods = sorted(k.period_start for k in await session.scalars(select(AnalyticsKey)))
        days = sorted(e.day for e in await session.scalars(select(AnalyticsEvent)))
    return {
        "tokens": tokens,
        "sessions": sessions,
        "grants": grants,
        "keys": keys,
        "analytics": (periods, days),
    }


async def test_retention_purges_exactly_what_is_due(app: FastAPI, fake_clock: datetime) -> None:
    await _seed(app)
    done = await retention.purge(app.state.engines)
    assert done == {
        "session_ips": 0,  # no session lives a year (next test)
        "token_ips": 1,
        "ended_tokens": 2,
        "ended_sessions": 2,
        "used_codes": 2,
        "idempotency_keys": 1,
        "analytics_events": 2,
        "analytics_keys": 1,
    }
    assert await _left(app) == {
        "tokens": {
            "ip-366d": None,
            "ip-364d": "192.0.2.2",
            "revoked-89d": None,
            "refreshable-91d": None,
            "active": None,
        },
        "sessions": {
            "revoked-89d": "192.0.2.7",
            "ended-119d": "192.0.2.7",
            "live": "192.0.2.7",
        },
        "grants": ["pending", "used-6d"],
        "keys": ["new"],
        "analytics": ([date(2031, 4, 20)], [date(2031, 4, 27)]),
    }
    again = await retention.purge(app.state.engines)
    assert set(again.values()) == {0}


async def test_session_addresses_go_after_a_year_even_when_sessions_are_kept(
    app_factory: Any, fake_clock: datetime
) -> None:
    async with app_factory(RETENTION_ENDED_SESSION_DAYS="1000", RETENTION_IP_DAYS="30") as (
        app,
        _client,
    ):
        _account, user = await create_user(app, "kept")
        async with app.state.engines.db.transaction() as session:
            session.add_all(
                [
                    _session("31d", user.id, _ago(days=31)),
                    _session("29d", user.id, _ago(days=29)),
                ]
            )
        done = await retention.purge(app.state.engines)
        assert (done["session_ips"], done["ended_sessions"]) == (1, 0)
        assert (await _left(app))["sessions"] == {"31d": None, "29d": "192.0.2.7"}


async def test_the_sweeper_queues_the_job_once_per_interval(app: FastAPI) -> None:
    engines = app.state.engines
    run = Sweep(engines, clock.utcnow(), frozenset())
    assert await queue_retention(run) is True
    assert await queue_retention(run) is False
    # A schedule, not lost work: the sweeper's "requeued" count stays clean.
    assert run.queued == 0


async def test_the_queued_job_purges_through_the_job_runner(app_factory: Any) -> None:
    async with app_factory(jobs_in_server=True) as (app, _client):
        account, _ = await create_user(app, "kept")
        stale = clock.utcnow() - timedelta(days=2)
        async with app.state.engines.db.transaction() as session:
            session.add(
                IdempotencyRecord(
                    account_id=account.id, scope="s", key_hash="old", result={}, created_at=stale
                )
            )
        assert await queue_retention(Sweep(app.state.engines, stale, frozenset())) is True
        for _ in range(100):
            if not (await _left(app))["keys"]:
                break
            await asyncio.sleep(0.1)
        assert (await _left(app))["keys"] == []
