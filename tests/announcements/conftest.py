from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from tests.conftest import TestEnv, running_app


@pytest.fixture
async def factory_app(test_env: TestEnv) -> AsyncIterator[FastAPI]:
    """The app in this test process, on the same database as the live servers: used only
    to write fixtures (users, tokens, follows, blocks) into the database."""
    async with running_app(test_env) as (app, _client):
        yield app
