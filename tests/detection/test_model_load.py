"""The model's first load in a process (seconds; 16 s measured on a loaded machine,
docs/detection.md) and a server stopped while it is under way: the stop waits neither for
the load nor for the job waiting on it, and the job is not lost."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pytest

from connecthub.detection import classifier
from tests.conftest import running_app
from tests.detection.support import OFFENSIVE, settle_model_load, wait_for_verdicts
from tests.social_factories import post_status, user_with_token

if TYPE_CHECKING:
    from tests.conftest import TestEnv

# A stopping app takes milliseconds; the bound is for a loaded machine. The stop this test
# guards against waited for the load, which here lasts until the test ends it (the drain
# allows 120 s), so no bound below that can pass it.
STOP_SECONDS = 10


async def test_a_server_stopped_during_the_models_first_load_stops_at_once(
    test_env: TestEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    loading, release = threading.Event(), threading.Event()
    loaders: list[threading.Thread] = []

    def slow_load() -> classifier.Model:
        loaders.append(threading.current_thread())
        loading.set()
        release.wait(120)

        def offensive(texts: Sequence[str]) -> list[float]:
            return [1.0 for _ in texts]

        return offensive

    await settle_model_load()
    monkeypatch.setattr(classifier, "_load", slow_load)
    monkeypatch.setattr(classifier, "_model", None)  # this process's first load
    monkeypatch.setattr(classifier, "_loading", None, raising=False)

    first = running_app(test_env, shutdown_drain_seconds=120, spam_new_account_hours=0)
    app, client = await first.__aenter__()
    stop: asyncio.Task[object] | None = None
    try:
        author, token = await user_with_token(app, "author")
        await post_status(client, token, OFFENSIVE)
        assert await asyncio.to_thread(loading.wait, 60)  # its job waits for the model
        stop = asyncio.create_task(first.__aexit__(None, None, None))
        done, _ = await asyncio.wait({stop}, timeout=STOP_SECONDS)
        stopped_while_loading = stop in done and not release.is_set()
    finally:
        release.set()  # the load ends: a stop that waited for it ends too
        await (stop if stop is not None else first.__aexit__(None, None, None))
        # Loaded (the lock is held until then) before the monkeypatch is undone.
        await asyncio.to_thread(classifier.model)
    assert stopped_while_loading, "the stop waited for the model's load"
    # Nothing joins the loading thread: not the event loop's close, nor the process's exit.
    assert [loader.daemon for loader in loaders] == [True]

    # The job was given back, not lost: the next start runs it from the outbox.
    async with running_app(
        test_env, spam_new_account_hours=0, jobs_outbox_relay_after_seconds=0.2
    ) as (app, _client):
        [verdict] = await wait_for_verdicts(app, author.id)
    assert verdict.subject == "status"
