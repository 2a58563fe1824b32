from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import TestEnv, running_app

RULES = "No spam,Be nice,No hate speech"


@pytest.fixture
async def app_and_client(test_env: TestEnv) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with three instance rules (ids 1, 2, 3) for reports to name."""
    async with running_app(test_env, instance_rules=RULES) as pair:
        yield pair


@pytest.fixture
async def factory_app(test_env: TestEnv) -> AsyncIterator[FastAPI]:
    """The app in this test process, on the live servers' database: fixtures only."""
    async with running_app(test_env) as (app, _client):
        yield app
