"""`connecthub migrate-data --media-to-s3`: the embedded instance's media directory copied into
a real S3-compatible store (SeaweedFS), under the keys the rows name, so the PostgreSQL
deployment serves the same attachments from the store; a second run uploads nothing."""

from __future__ import annotations

import itertools
import json
import re
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.cli_runner import run_cli
from tests.engines import postgres_server_url
from tests.infra.migrate_data_support import drop_progress, make_embedded, seed, serving
from tests.social_factories import auth
from tests.support import probe

if TYPE_CHECKING:
    from tests.conftest import TestEnv
    from tests.media.conftest import SeaweedFS

pytestmark = [
    pytest.mark.skipif(postgres_server_url() is None, reason="migrate-data's target is PostgreSQL"),
    pytest.mark.timeout(300),
]

_buckets = itertools.count(1)


async def test_media_move_into_the_object_store(test_env: TestEnv, seaweedfs: SeaweedFS) -> None:
    embedded = await make_embedded(test_env)
    bucket = f"migrate-{id(test_env) % 100000}-{next(_buckets)}"
    await seaweedfs.create_bucket(bucket)
    try:
        async with serving(embedded.settings()) as (app, client):
            seeded = await seed(app, client)
            url = f"/api/v1/statuses/{seeded.ids['with_media']}"
            before = (await client.get(url, headers=auth(seeded.tokens["alice"]))).json()
        media_dir = test_env.workdir / "media"
        local_files = [path for path in media_dir.rglob("*") if path.is_file()]
        assert local_files

        environ = test_env.environ(**seaweedfs.environ(bucket))
        args = ("migrate-data", "--from", embedded.url, "--to", test_env.database_url)
        media = ("--media-to-s3", "--media-from", str(media_dir))
        result = run_cli(environ, *args, *media)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        files = len(local_files)
        assert re.search(
            rf"media: {files} files, \d+ bytes; {files} uploaded, 0 already there; "
            "every object at its size: valid",
            output,
        ), output
        # Run again (before the new deployment writes anything): nothing is uploaded twice.
        again = run_cli(environ, *args, *media)
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"0 uploaded, {files} already there" in again.stdout, again.stdout

        async with serving(test_env.settings(**seaweedfs.settings(bucket))) as (app, client):
            after = (await client.get(url, headers=auth(seeded.tokens["alice"]))).json()
        [old], [new] = before["media_attachments"], after["media_attachments"]
        store = f"{seaweedfs.endpoint}/{bucket}/"
        for field in ("url", "preview_url"):
            assert new[field].startswith(store), new[field]
            assert new[field].removeprefix(store) == old[field].split("/system/media/", 1)[1]
        key = new["url"].removeprefix(store)
        async with httpx.AsyncClient(verify=probe.ssl_context()) as fetcher:
            served = await fetcher.get(new["url"])
        assert served.status_code == 200
        assert served.content == (media_dir / key).read_bytes()
        # Everything else about the status is as it was: the store's address in place of
        # the local one is the only change (variants' URLs in `meta` included).
        local = old["url"].split("/system/media/", 1)[0] + "/system/media/"
        assert json.loads(json.dumps(after).replace(store, local)) == before

    finally:
        await drop_progress(test_env)
        await seaweedfs.delete_bucket(bucket)
