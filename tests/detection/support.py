"""Helpers for the detection tests: waiting for the jobs' verdicts and reading the reports
they filed."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import FastAPI
from sqlalchemy import select

from connecthub.detection import classifier
from connecthub.detection.models import DetectionVerdict
from connecthub.reports.models import Report

OFFENSIVE = "you are a fucking idiot and a worthless piece of shit"
BENIGN = "what a lovely morning for a walk in the park"

T = TypeVar("T")


async def verdicts(app: FastAPI, account_id: int) -> list[DetectionVerdict]:
    async with app.state.engines.db.session() as session:
        query = select(DetectionVerdict).where(DetectionVerdict.account_id == account_id)
        return list(await session.scalars(query.order_by(DetectionVerdict.id)))


async def wait_for_verdicts(
    app: FastAPI, account_id: int, count: int = 1, seconds: float = 60
) -> list[DetectionVerdict]:
    """Poll until the account has `count` verdicts (the jobs run after the commits). The
    first score in a process loads the model: seconds on a quiet machine, more on a busy one."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await verdicts(app, account_id)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"account {account_id} got {len(found)} verdicts, wanted {count}")


async def settle_model_load() -> None:
    """Wait for a model load an earlier test's server left under way (a server that stops
    does not wait for it: detection/classifier.py), before replacing the model: it would
    replace it back when it ends."""
    under_way = classifier._loading
    if under_way is not None:
        with contextlib.suppress(Exception):
            await asyncio.wrap_future(under_way)


async def report(app: FastAPI, report_id: int | None) -> Report:
    assert report_id is not None
    async with app.state.engines.db.session() as session:
        found = await session.get(Report, report_id)
    assert found is not None
    return found


async def eventually(check: Callable[[], Awaitable[T | None]], seconds: float = 10) -> T:
    """Poll `check` until it answers something (effects that follow a commit)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await check()
        if found is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"gave up after {seconds} s")


def reasons(found: list[Any]) -> list[str]:
    return [v.reason for v in found]
