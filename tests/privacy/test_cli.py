"""`connecthub admin documents …` (list, add, publish) and `connecthub admin purge-expired`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from connecthub.clock import utcnow
from tests.cli_runner import run_cli


@pytest.mark.slow
async def test_an_operator_writes_and_publishes_documents(
    test_env: Any, app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    today = utcnow().date()
    source = tmp_path / "terms.md"
    source.write_text("# Terms\n\nBe *kind* on %{domain}.", encoding="utf-8")

    def cli(*args: str) -> Any:
        return run_cli(test_env.environ(), "admin", *args)

    added = await asyncio.to_thread(
        cli, "documents", "add", "terms_of_service", str(source),
        "--effective-date", today.isoformat(),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "(id " in added.stdout
    assert "draft" in added.stdout
    document_id = added.stdout.split("(id ")[1].split(",")[0]
    assert (await client.get("/api/v1/instance/terms_of_service")).status_code == 404
    published = await asyncio.to_thread(cli, "documents", "publish", document_id)
    assert published.returncode == 0, published.stderr
    terms = (await client.get("/api/v1/instance/terms_of_service")).json()
    assert terms["effective_date"] == today.isoformat()
    assert "<em>kind</em>" in terms["content"]
    policy = await asyncio.to_thread(
        cli, "documents", "add", "privacy_policy", str(source),
        "--effective-date", (today - timedelta(days=1)).isoformat(), "--publish",
    )  # fmt: skip
    assert policy.returncode == 0, policy.stderr
    listed = await asyncio.to_thread(cli, "documents", "list")
    assert [line.split("\t")[1:] for line in listed.stdout.splitlines()] == [
        ["privacy_policy", (today - timedelta(days=1)).isoformat(), "published"],
        ["terms_of_service", today.isoformat(), "published"],
    ]
    for bad in (
        ("documents", "add", "cookies", str(source), "--effective-date", today.isoformat()),
        ("documents", "add", "privacy_policy", str(source), "--effective-date", "soon"),
        ("documents", "add", "privacy_policy", str(tmp_path / "absent.md"), "--effective-date",
         today.isoformat()),
        ("documents", "publish", document_id),  # already published
    ):  # fmt: skip
        refused = await asyncio.to_thread(cli, *bad)
        assert refused.returncode == 2, bad
        assert "Traceback" not in refused.stderr


async def test_purge_expired_runs_the_retention_job_now(test_env: Any, app: FastAPI) -> None:
    done = await asyncio.to_thread(run_cli, test_env.environ(), "admin", "purge-expired")
    assert done.returncode == 0, done.stderr
    assert "idempotency_keys: 0" in done.stdout
    assert "session_ips: 0" in done.stdout
