"""Stopping a background task (core/tasks.py)."""

from __future__ import annotations

import asyncio

import pytest

from connecthub.core.tasks import cancel_and_wait


async def test_a_running_task_is_cancelled_and_has_ended_when_it_returns() -> None:
    cleaned: list[str] = []

    async def loop_forever() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.01)  # its cleanup takes a moment
            cleaned.append("done")

    task = asyncio.create_task(loop_forever())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.cancelled()
    assert cleaned == ["done"]


async def test_an_error_the_task_ended_with_is_raised() -> None:
    async def fail() -> None:
        raise LookupError("gone")

    task = asyncio.create_task(fail())
    await asyncio.sleep(0)
    with pytest.raises(LookupError, match="gone"):
        await cancel_and_wait(task)


async def test_the_callers_own_cancellation_goes_on_up() -> None:
    """The caller cancelled while it waits for a slow cleanup stops there: it does not go
    on as if the wait had ended (the old `suppress(CancelledError)` idiom went on)."""
    went_on: list[str] = []

    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(0.2)
            raise

    async def stopper(task: asyncio.Task[None]) -> None:
        await cancel_and_wait(task)
        went_on.append("after the wait")

    background = asyncio.create_task(slow_to_stop())
    await asyncio.sleep(0)
    stopping = asyncio.create_task(stopper(background))
    await asyncio.sleep(0.05)  # the stopper waits for the background task's cleanup
    stopping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopping
    assert went_on == []
    await asyncio.gather(background, return_exceptions=True)


async def test_a_cancelled_tasks_clean_up_stops_its_helpers_and_goes_on() -> None:
    """A task cancelled earlier, stopping what it started in its `finally`: the helper's
    cancellation ends the wait, and the clean-up after it runs (a job worker's last
    accounting, infra/job_queues.py)."""
    steps: list[str] = []

    async def worker() -> None:
        helper = asyncio.create_task(asyncio.sleep(3600))
        try:
            await asyncio.sleep(3600)
        finally:
            await cancel_and_wait(helper)
            steps.append("accounted")

    task = asyncio.create_task(worker())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert steps == ["accounted"]


async def test_several_tasks_are_cancelled_together() -> None:
    """Every task is cancelled before the first is waited for: none goes on working while
    another's clean-up runs."""
    order: list[str] = []

    async def slow_clean_up(name: str) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            order.append(f"{name} cancelled")
            await asyncio.sleep(0.01)
            order.append(f"{name} done")
            raise

    first = asyncio.create_task(slow_clean_up("first"))
    second = asyncio.create_task(slow_clean_up("second"))
    await asyncio.sleep(0)
    await cancel_and_wait(first, None, second)
    assert first.cancelled()
    assert second.cancelled()
    assert order.index("second cancelled") < order.index("first done")
