"""Distributed mode: the web process only queues; a real `connecthub worker` process loads
the model, scores the post and files the system report."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import start_connecthub, stop_process
from tests.detection.support import OFFENSIVE, report, verdicts, wait_for_verdicts
from tests.engines import redis_url
from tests.social_factories import post_status, user_with_token

if TYPE_CHECKING:
    from tests.conftest import TestEnv

QUEUE_REDIS_URL = redis_url() or "redis://127.0.0.1:6379/0"


@pytest.mark.processes
async def test_a_worker_process_reports_an_offensive_post(
    test_env: TestEnv, app_factory: Any
) -> None:
    log_path = test_env.workdir / "detection-worker.log"
    async with app_factory(REDIS_URL=QUEUE_REDIS_URL, JOBS_IN_SERVER=False) as (app, client):
        author, token = await user_with_token(app, "author")
        status = await post_status(client, token, OFFENSIVE)
        assert await verdicts(app, author.id) == []  # the web process scores nothing

        worker = start_connecthub(
            "worker", "--concurrency", "2",
            env=test_env.environ(REDIS_URL=QUEUE_REDIS_URL), output=log_path,
        )  # fmt: skip
        try:
            # A fresh process: imports, then the model on its first job (slow on a busy machine).
            [verdict] = await wait_for_verdicts(app, author.id, seconds=180)
        finally:
            stop_process(worker)
        filed = await report(app, verdict.report_id)
    assert filed.system, log_path.read_text()
    assert filed.status_ids == [int(status["id"])]
    assert "offensive language in the status: score" in filed.comment
