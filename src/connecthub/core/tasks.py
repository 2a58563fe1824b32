"""Background tasks stopped the one way: cancelled, then waited for until they have ended."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(*tasks: asyncio.Future[Any] | None) -> None:
    """Cancel `tasks` together (None: no task there) and wait until each has ended. Their
    cancellation is what was asked for, not an error; an error one ended with before is
    raised. The caller's own cancellation, asked for while it waits, goes on up
    (`contextlib.suppress(CancelledError)` swallowed that one too, and the caller carried
    on); one asked for before (a cancelled task's clean-up stopping what it started) does
    not stop the clean-up here."""
    current = asyncio.current_task()
    asked_before = current.cancelling() if current is not None else 0
    stopping = [task for task in tasks if task is not None]
    for task in stopping:
        task.cancel()
    for task in stopping:
        try:
            await task
        except asyncio.CancelledError:
            if current is not None and current.cancelling() > asked_before:
                raise
