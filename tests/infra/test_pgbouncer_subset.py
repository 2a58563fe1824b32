"""The PgBouncer run (tests/pgbouncer_subset.txt, TEST_PGBOUNCER=1 in `.ci/run`): it covers
every repository and the job queue, and under it the app's connections really go through
PgBouncer in transaction pooling mode, many at once."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests import engines
from tests.factories import create_token, create_user

ROOT = Path(__file__).resolve().parents[2]


def _subset() -> list[str]:
    lines = (ROOT / "tests" / "pgbouncer_subset.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_the_subset_covers_every_repository_and_the_job_queue():
    subset = _subset()
    assert all((ROOT / path).is_file() for path in subset), subset
    domains = {path.parent.name for path in (ROOT / "src" / "connecthub").glob("*/repository.py")}
    covered = {Path(path).parent.name for path in subset}
    assert domains - covered == set(), "domains with a repository but no file in the subset"
    assert {"tests/infra/test_jobs.py", "tests/infra/test_job_outbox.py"} <= set(subset)


@pytest.mark.slow
async def test_concurrent_reads_and_writes_share_pooled_server_connections(client, app):
    """Posts and reads at once, so PgBouncer lends each server connection to several app
    connections in turn: a prepared statement outliving its transaction fails here."""
    tokens = []
    for n in range(3):
        account, _ = await create_user(app, f"pool{n}")
        tokens.append(await create_token(app, account.id))

    async def work(token: str, n: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        posted = await client.post(
            "/api/v1/statuses", headers=headers, json={"status": f"through the pool {n}"}
        )
        assert posted.status_code == 200, posted.text
        status_id = posted.json()["id"]
        for path in (
            f"/api/v1/statuses/{status_id}",
            "/api/v1/timelines/home",
            "/api/v1/accounts/verify_credentials",
            f"/api/v1/accounts/{posted.json()['account']['id']}/statuses",
        ):
            read = await client.get(path, headers=headers)
            assert read.status_code == 200, (path, read.text)

    await asyncio.gather(*(work(tokens[n % len(tokens)], n) for n in range(8)))
    settings = app.state.settings
    if engines.pgbouncer_wanted():
        assert settings.database_pooler == "transaction"
        url = make_url(settings.database_url)
        # The admin console speaks the simple query protocol only.
        command = ["psql", "-h", "127.0.0.1", "-p", str(url.port), "-U", "postgres", "-At"]
        shown = subprocess.run(
            [*command, "-d", "pgbouncer", "-c", "SHOW POOLS"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        pools = [line.split("|") for line in shown.splitlines()]
        mine = [row for row in pools if row[0] == url.database]
        assert mine, pools
        assert mine[0][-1] == "transaction", pools
    else:
        assert settings.database_pooler == "none"
