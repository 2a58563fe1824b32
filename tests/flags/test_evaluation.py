"""Evaluation through the OpenFeature client, from the process's cached rules: a stored
rollout on 10,000 synthetic accounts, the web app's values, and no database or Redis
call per evaluation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connecthub.flags.provider import PROVIDER_NAME
from tests.flags.support import admin_token, create_flag, features, synthetic_account_ids
from tests.social_factories import auth, user_with_token
from tests.support.queries import counting_queries


@pytest.mark.slow
async def test_a_stored_rollout_assigns_its_share_and_keeps_it_as_it_grows(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = await admin_token(app)
    await create_flag(
        client,
        token,
        key="new_composer",
        kind="boolean",
        default_value=False,
        rules=[{"name": "canary", "conditions": [], "value": True, "percentage": 10}],
    )
    accounts = synthetic_account_ids(10_000)

    def enabled() -> set[int]:
        return {a for a in accounts if features(app, a).enabled("new_composer")}

    at_10 = enabled()
    # Binomial(10,000, 0.1): sd 30; the tolerance, ±150, is five of them.
    assert 850 <= len(at_10) <= 1150
    response = await client.post(
        "/api/v1/admin/flags/new_composer/rollout", json={"percentage": 50}, headers=auth(token)
    )
    assert response.status_code == 200
    at_50 = enabled()
    assert 4750 <= len(at_50) <= 5250
    assert at_10 <= at_50
    await client.post(
        "/api/v1/admin/flags/new_composer/rollout", json={"percentage": 10}, headers=auth(token)
    )
    assert enabled() == at_10  # rolled back: the same accounts as before


async def test_details_name_the_provider_the_reason_and_the_version(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = await admin_token(app)
    await create_flag(client, token, key="limit", kind="number", default_value=5)
    details = features(app, 1).client.get_integer_details("limit", 1, features(app, 1).context)
    assert (details.value, details.reason, details.flag_metadata) == (5, "DEFAULT", {"version": 1})
    assert app.state.flags.client.provider.get_metadata().name == PROVIDER_NAME
    # A flag asked for as another type, or unknown: the caller's default, with the error.
    wrong = features(app, 1).client.get_boolean_details("limit", True)
    assert (wrong.value, wrong.error_code) == (True, "TYPE_MISMATCH")
    unknown = features(app, 1).client.get_string_details("nope", "x")
    assert (unknown.value, unknown.error_code) == ("x", "FLAG_NOT_FOUND")


async def test_the_web_app_reads_its_flags_evaluated_for_the_caller(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = await admin_token(app)
    indonesian = [
        {
            "name": "indonesian",
            "conditions": [{"attribute": "locale", "operator": "in", "values": ["id"]}],
            "value": "id-theme",
        }
    ]
    await create_flag(
        client, token, key="theme", kind="string", default_value="plain",
        client_visible=True, rules=indonesian,
    )  # fmt: skip
    await create_flag(
        client, token, key="layout", kind="json", default_value={"columns": 1},
        client_visible=True,
    )  # fmt: skip
    await create_flag(client, token, key="server_only", kind="boolean", default_value=True)
    _alice, alice = await user_with_token(app, "alice")

    plain = await client.get("/api/v1/flags", headers=auth(alice))
    assert plain.status_code == 200
    assert plain.json() == {"theme": "plain", "layout": {"columns": 1}}
    local = await client.get(
        "/api/v1/flags", headers={**auth(alice), "Accept-Language": "id-ID,en;q=0.5"}
    )
    assert local.json()["theme"] == "id-theme"
    assert "rules" not in local.text
    assert (await client.get("/api/v1/flags")).status_code == 401


@contextmanager
def counting_redis_commands(app: FastAPI) -> Iterator[list[Any]]:
    """Every command the app's Redis client sends inside the block (none without Redis)."""
    commands: list[Any] = []
    redis = app.state.engines.redis
    if redis is None:
        yield commands
        return
    original = redis.execute_command

    async def counted(*args: Any, **options: Any) -> Any:
        commands.append(args[0])
        return await original(*args, **options)

    redis.execute_command = counted
    try:
        yield commands
    finally:
        redis.execute_command = original


async def test_evaluation_runs_no_statement_and_no_redis_command(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = await admin_token(app)
    await create_flag(
        client, token, key="canary", kind="boolean", default_value=False,
        rules=[{"name": "some", "conditions": [], "value": True, "percentage": 30}],
    )  # fmt: skip
    await create_flag(
        client, token, key="exp", kind="boolean", default_value=False,
        experiment={
            "variants": [{"name": "a", "value": False}, {"name": "b", "value": True}],
            "metric": "posted",
        },
    )  # fmt: skip
    accounts = synthetic_account_ids(2000)
    with counting_queries(app) as statements, counting_redis_commands(app) as commands:
        for account in accounts:
            f = features(app, account, "user", "en")
            f.enabled("canary")
            f.enabled("exp")
            f.enabled("unknown")
    assert statements == []
    assert commands == []
