"""Experiments: sticky assignment recorded once per account (consent respected), and the
readout on synthetic exposures checked against an independent computation."""

from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from connecthub.accounts.models import Account
from connecthub.clock import utcnow
from connecthub.flags.models import FlagExposure
from connecthub.privacy.models import Consent
from connecthub.statuses.models import Status
from tests.flags.support import admin_token, create_flag, flags
from tests.social_factories import auth, user_with_token

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile


def experiment(metric: str, min_sample: int = 100) -> dict[str, Any]:
    return {
        "variants": [
            {"name": "control", "value": False, "weight": 1},
            {"name": "treatment", "value": True, "weight": 1},
        ],
        "metric": metric,
        "min_sample": min_sample,
    }


async def exposures(app: FastAPI) -> list[tuple[int, str]]:
    async with app.state.engines.db.session(readonly=True) as session:
        rows = await session.execute(select(FlagExposure.account_id, FlagExposure.variant))
        return [(row[0], row[1]) for row in rows]


async def test_an_account_is_exposed_once_to_the_variant_it_keeps_getting(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = await admin_token(app)
    await create_flag(
        client, token, key="bigger_buttons", kind="boolean", default_value=False,
        client_visible=True, experiment=experiment("posted"),
    )  # fmt: skip
    alice, alice_token = await user_with_token(app, "alice")
    served = set()
    for _ in range(5):
        response = await client.get("/api/v1/flags", headers=auth(alice_token))
        served.add(response.json()["bigger_buttons"])
    assert len(served) == 1  # sticky
    await flags(app).exposures.flush()
    for _ in range(3):
        await client.get("/api/v1/flags", headers=auth(alice_token))
    await flags(app).exposures.flush()
    variant = "treatment" if served == {True} else "control"
    assert await exposures(app) == [(alice.id, variant)]


async def test_an_account_that_withdrew_its_consent_is_not_recorded(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = await admin_token(app)
    await create_flag(
        client, token, key="bigger_buttons", kind="boolean", default_value=False,
        client_visible=True, experiment=experiment("posted"),
    )  # fmt: skip
    bob, bob_token = await user_with_token(app, "bob")
    async with app.state.engines.db.transaction() as session:
        session.add(
            Consent(
                account_id=bob.id, purpose="terms", policy_version="1", method="api",
                withdrawn_at=utcnow(),
            )
        )  # fmt: skip
    await client.get("/api/v1/flags", headers=auth(bob_token))
    await flags(app).exposures.flush()
    assert await exposures(app) == []


async def synthetic_experiment(
    app: FastAPI, client: httpx.AsyncClient, metric: str, min_sample: int, accounts: int
) -> tuple[dict[str, list[float]], str]:
    """`accounts` synthetic accounts exposed through the provider, some of which post
    (treatment a little more often); answers each variant's per-account metric values as
    the test computes them itself, and the admin token."""
    token = await admin_token(app)
    await create_flag(
        client, token, key="exp", kind="boolean", default_value=False,
        experiment=experiment(metric, min_sample),
    )  # fmt: skip
    rng = random.Random(7)
    async with app.state.engines.db.transaction() as session:
        made = [Account(username=f"s{n}", username_key=f"s{n}") for n in range(accounts)]
        session.add_all(made)
    ids = [account.id for account in made]
    variants: dict[int, str] = {}
    for account_id in ids:
        f = flags(app).features(account_id, "user", None)
        treated = f.enabled("exp")
        variants[account_id] = "treatment" if treated else "control"
    await flags(app).exposures.flush_all()
    later = utcnow() + timedelta(seconds=1)
    values: dict[str, list[float]] = {"control": [], "treatment": []}
    async with app.state.engines.db.transaction() as session:
        for account_id in ids:
            chance = 0.55 if variants[account_id] == "treatment" else 0.35
            posts = sum(1 for _ in range(3) if rng.random() < chance)
            for n in range(posts):
                session.add(
                    Status(account_id=account_id, text="x", created_at=later + timedelta(seconds=n))
                )
            if metric == "posted":
                values[variants[account_id]].append(1.0 if posts else 0.0)
            else:
                values[variants[account_id]].append(float(posts))  # one day at least
    return values, token


def independent_interval(metric: str, control: list[float], treatment: list[float]) -> tuple:
    """The difference and its 95 % interval, computed here without the app's code."""
    n0, n1 = len(control), len(treatment)
    m0, m1 = sum(control) / n0, sum(treatment) / n1
    if metric == "posted":
        v0, v1 = m0 * (1 - m0), m1 * (1 - m1)
    else:
        v0 = sum((x - m0) ** 2 for x in control) / (n0 - 1)
        v1 = sum((x - m1) ** 2 for x in treatment) / (n1 - 1)
    se = math.sqrt(v0 / n0 + v1 / n1)
    d = m1 - m0
    return n0, n1, m0, m1, d, d - Z95 * se, d + Z95 * se


@pytest.mark.parametrize("metric", ["posted", "statuses_per_day"])
async def test_the_readout_matches_an_independent_computation(
    app: FastAPI, client: httpx.AsyncClient, metric: str
) -> None:
    values, token = await synthetic_experiment(app, client, metric, 100, accounts=600)
    response = await client.get("/api/v1/admin/flags/exp/readout", headers=auth(token))
    assert response.status_code == 200, response.text
    readout = response.json()
    n0, n1, m0, m1, d, low, high = independent_interval(
        metric, values["control"], values["treatment"]
    )
    assert [(v["name"], v["exposures"]) for v in readout["variants"]] == [
        ("control", n0),
        ("treatment", n1),
    ]
    assert readout["variants"][0]["metric"] == pytest.approx(m0, rel=1e-9)
    assert readout["variants"][1]["metric"] == pytest.approx(m1, rel=1e-9)
    comparison = readout["comparisons"][0]
    assert comparison["difference"] == pytest.approx(d, rel=1e-9)
    assert comparison["ci_low"] == pytest.approx(low, rel=1e-9)
    assert comparison["ci_high"] == pytest.approx(high, rel=1e-9)
    assert readout["confidence_level"] == 0.95
    expected_winner = "treatment" if low > 0 else ("control" if high < 0 else None)
    assert readout["winner"] == expected_winner
    assert low > 0  # the synthetic effect is large enough to show at this size


async def test_no_winner_below_the_minimum_sample(app: FastAPI, client: httpx.AsyncClient) -> None:
    values, token = await synthetic_experiment(app, client, "posted", 1000, accounts=600)
    _n0, _n1, _m0, _m1, _d, low, _high = independent_interval(
        "posted", values["control"], values["treatment"]
    )
    assert low > 0  # a clear difference, but too few accounts to call it
    readout = (await client.get("/api/v1/admin/flags/exp/readout", headers=auth(token))).json()
    assert (readout["verdict"], readout["winner"]) == ("insufficient_sample", None)
    async with app.state.engines.db.session(readonly=True) as session:
        assert await session.scalar(select(func.count()).select_from(FlagExposure)) == 600


async def test_a_readout_needs_an_experiment(app: FastAPI, client: httpx.AsyncClient) -> None:
    token = await admin_token(app)
    await create_flag(client, token, key="plain", kind="boolean", default_value=False)
    response = await client.get("/api/v1/admin/flags/plain/readout", headers=auth(token))
    assert response.status_code == 422
    assert response.json()["error"].startswith("Validation failed: key:")
