"""Product analytics that identify no one: only consenting accounts are recorded, under a
keyed hash; a withdrawal erases and stops at once; published cells under k are suppressed;
the Laplace noise has the stated scale; keys rotate and go with their events."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from connecthub import clock
from connecthub.accounts.models import Account
from connecthub.analytics import service
from connecthub.analytics.models import AnalyticsEvent, AnalyticsKey
from connecthub.config import Settings
from connecthub.privacy import retention
from tests.admin.support import staff
from tests.social_factories import auth, post_status, user_with_token

CONSENTS = "/api/v1/connecthub/consents"


async def _events(app: FastAPI) -> list[AnalyticsEvent]:
    async with app.state.engines.db.session() as session:
        return list(await session.scalars(select(AnalyticsEvent).order_by(AnalyticsEvent.id)))


async def _grant(client: httpx.AsyncClient, token: str) -> None:
    response = await client.post(f"{CONSENTS}/analytics", headers=auth(token))
    assert response.status_code == 200, response.text


async def _withdraw(client: httpx.AsyncClient, token: str) -> None:
    response = await client.delete(f"{CONSENTS}/analytics", headers=auth(token))
    assert response.status_code == 200, response.text


async def test_only_consenting_accounts_are_recorded_and_withdrawal_erases(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    keen, keen_token = await user_with_token(app, "keen")
    _shy, shy_token = await user_with_token(app, "shy")
    await post_status(client, keen_token, "before consent")
    await post_status(client, shy_token, "never consented")
    assert await _events(app) == []

    await _grant(client, keen_token)
    parent = await post_status(client, keen_token, "counted")
    reply = await client.post(
        "/api/v1/statuses",
        json={"status": "a reply", "in_reply_to_id": parent["id"]},
        headers=auth(keen_token),
    )
    assert reply.status_code == 200, reply.text
    await post_status(client, shy_token, "still never")
    events = await _events(app)
    assert sorted(e.kind for e in events) == ["post", "post", "reply"]
    # Pseudonymised: one subject for the account, and it is not its id in any form.
    assert len({e.subject for e in events}) == 1
    subject = events[0].subject
    assert str(keen.id) not in subject
    assert "keen" not in subject
    assert len(subject) == 64
    assert {e.cohort for e in events} == {service.cohort_of(keen.created_at)}

    await _withdraw(client, keen_token)
    assert await _events(app) == []  # erased at once
    await post_status(client, keen_token, "after withdrawal")
    assert await _events(app) == []  # and nothing recorded any more

    # Granting again starts afresh, under the same period's key.
    await _grant(client, keen_token)
    await post_status(client, keen_token, "again")
    assert [e.subject for e in await _events(app)] == [subject]


async def _backdate(app: FastAPI, account_id: int, joined: datetime) -> None:
    async with app.state.engines.db.transaction() as session:
        await session.execute(
            update(Account).where(Account.id == account_id).values(created_at=joined)
        )


def _today() -> str:
    return clock.utcnow().date().isoformat()


async def _dashboard(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    window = {"start_at": _today(), "end_at": _today()}
    measures = await client.post(
        "/api/v1/admin/measures",
        json={"keys": ["analytics_active_posters"], **window},
        headers=auth(token),
    )
    assert measures.status_code == 200, measures.text
    dimensions = await client.post(
        "/api/v1/admin/dimensions",
        json={
            "keys": ["analytics_active_posters_by_cohort", "analytics_feature_usage"],
            **window,
        },
        headers=auth(token),
    )
    assert dimensions.status_code == 200, dimensions.text
    by_key = {d["key"]: {x["key"]: x["value"] for x in d["data"]} for d in dimensions.json()}
    measure = measures.json()[0]
    return {
        "day": {p["date"][:10]: p["value"] for p in measure["data"]},
        "total": measure["total"],
        "cohorts": by_key["analytics_active_posters_by_cohort"],
        "features": by_key["analytics_feature_usage"],
    }


async def test_cells_under_k_are_suppressed_and_withdrawn_accounts_absent(
    app_factory: Any,
) -> None:
    async with app_factory(ANALYTICS_MIN_GROUP="3", ANALYTICS_EPSILON="0") as (app, client):
        _admin, admin_token = await staff(app, "boss")
        people = [await user_with_token(app, f"person{n}") for n in range(5)]
        _stranger, stranger_token = await user_with_token(app, "stranger")
        # person4 joined in January 2025: a cohort of one.
        await _backdate(app, people[4][0].id, datetime(2025, 1, 15, tzinfo=UTC))
        for _account, token in people:
            await _grant(client, token)
            await post_status(client, token, "hello")
        await post_status(client, stranger_token, "not counted")
        this_month = service.cohort_of(clock.utcnow())
        shown = await _dashboard(client, admin_token)
        assert shown["day"] == {_today(): "5"}
        assert shown["total"] == "5"
        # The January cohort has one account: suppressed, not shown as a number.
        assert shown["cohorts"] == {this_month: "4"}
        assert shown["features"] == {"post": "5"}

        # Two of this month's withdraw: their events go, and the cohort falls under k.
        for _account, token in people[2:4]:
            await _withdraw(client, token)
            await post_status(client, token, "no longer counted")
        shown = await _dashboard(client, admin_token)
        assert shown["day"] == {_today(): "3"}
        assert shown["cohorts"] == {}
        assert shown["features"] == {"post": "3"}
        async with app.state.engines.db.session() as session:
            secret = (await session.scalars(select(AnalyticsKey.secret))).one()
        remaining = {e.subject for e in await _events(app)}
        for account, _token in people[2:4]:
            assert service.subject_of(secret, account.id) not in remaining

        # A third withdrawal: the day itself falls under k and has no point.
        await _withdraw(client, people[0][1])
        shown = await _dashboard(client, admin_token)
        assert shown["day"] == {}
        assert shown["total"] == "0"


def test_laplace_draws_have_the_stated_scale() -> None:
    rng = random.Random(20)
    for scale in (0.5, 2.0, 10.0):
        draws = [service.laplace(scale, rng) for _ in range(40_000)]
        # Laplace(0, b): mean 0, mean absolute value b, variance 2b².
        assert abs(statistics.fmean(draws)) < 0.05 * scale
        assert statistics.fmean(abs(x) for x in draws) == pytest.approx(scale, rel=0.03)
        assert statistics.pvariance(draws) == pytest.approx(2 * scale * scale, rel=0.06)
        assert min(draws) < -3 * scale
        assert max(draws) > 3 * scale


def test_released_figures_carry_noise_of_scale_one_over_epsilon() -> None:
    settings = Settings(analytics_min_group=10, analytics_epsilon=0.5)
    true = 200
    released = [service.release(settings, f"cell-{n}", true) for n in range(20_000)]
    errors = [float(value) - true for value in released if value is not None]
    assert len(errors) == 20_000
    assert abs(statistics.fmean(errors)) < 0.1
    # Rounded to whole accounts: the mean absolute error stays near 1/epsilon = 2.
    assert statistics.fmean(abs(e) for e in errors) == pytest.approx(2.0, rel=0.05)
    assert len(set(errors)) > 10  # not one fixed offset
    # The same cell asked twice gives the same figure: repeated questions cannot average
    # the noise away.
    assert service.release(settings, "cell-7", true) == service.release(settings, "cell-7", true)
    # Under k nothing is released, whatever the noise would have been.
    assert all(service.release(settings, f"small-{n}", 9) is None for n in range(1000))
    assert service.release(settings, "exact", 10, sensitivity=3) is not None
    exact = Settings(analytics_min_group=10, analytics_epsilon=0)
    assert service.release(exact, "exact", 12) == 12


async def test_keys_rotate_and_go_with_their_events(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = app.state.engines.settings
    keen, keen_token = await user_with_token(app, "keen")
    await _grant(client, keen_token)
    start = datetime(2031, 3, 2, 12, tzinfo=UTC)
    days = [0, settings.analytics_key_rotation_days]
    for offset in days:
        monkeypatch.setattr(clock, "utcnow", lambda o=offset: start + timedelta(days=o))
        await post_status(client, keen_token, f"day {offset}")
    events = await _events(app)
    assert len(events) == 2
    # Two periods, two keys: the same person is not linkable across them.
    assert len({e.key_id for e in events}) == 2
    assert len({e.subject for e in events}) == 2

    # Retention: once the window has passed, the older events go, then their key.
    later = start + timedelta(days=settings.analytics_event_days + 1)
    await retention.purge(app.state.engines, later)
    assert [e.day for e in await _events(app)] == [(start + timedelta(days=days[1])).date()]
    async with app.state.engines.db.session() as session:
        periods = list(await session.scalars(select(AnalyticsKey.period_start)))
    assert len(periods) == 2  # the key outlives its period by the events' window
    much_later = later + timedelta(days=settings.analytics_key_rotation_days * 2 + 1)
    await retention.purge(app.state.engines, much_later)
    async with app.state.engines.db.session() as session:
        left = int((await session.execute(select(func.count(AnalyticsKey.id)))).scalar_one())
    assert left == 0
    assert await _events(app) == []
    assert isinstance(periods[0], date)
    assert str(keen.id) not in str([e.subject for e in events])
