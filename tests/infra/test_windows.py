"""Counts over sliding windows on both engines (the spam heuristics' store)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from connecthub.infra import windows
from connecthub.infra.engines import Engines
from tests.infra.test_jobs import JOB_REDIS_URL, started_engines

WINDOW = 3600


@pytest.fixture(params=["in-process", "redis"])
async def engines(request: pytest.FixtureRequest, test_env: object) -> AsyncIterator[Engines]:
    async with started_engines(
        test_env,  # type: ignore[arg-type]
        redis_url=None if request.param == "in-process" else JOB_REDIS_URL,
    ) as started:
        yield started


async def test_counts_add_up_per_key(engines: Engines) -> None:
    counter = engines.windows
    assert await counter.add("a", 2, WINDOW) >= 2
    assert await counter.add("a", 3, WINDOW) >= 5
    assert await counter.add("b", 1, WINDOW) < 2


async def test_the_previous_bucket_fades_as_the_window_moves(
    engines: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [10 * WINDOW * 1000 + 0]  # the start of a bucket
    monkeypatch.setattr(windows, "epoch_ms", lambda: now[0])
    counter = engines.windows
    assert await counter.add("k", 10, WINDOW) == 10
    now[0] += WINDOW * 1000 + WINDOW * 250  # a quarter into the next bucket
    # 10 in the previous bucket, three quarters of it still inside the window, plus 1.
    assert await counter.add("k", 1, WINDOW) == pytest.approx(8.5)
    now[0] += WINDOW * 1000  # two buckets on: the 10 are out of the window
    assert await counter.add("k", 1, WINDOW) == pytest.approx(1 + 1 * 0.75)
