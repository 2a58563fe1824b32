"""No password, token or message text reaches a log line, at debug level, across sign-in,
authenticated requests, posting (public and direct) and a failing request."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from connecthub.ops.logging import configure_logging
from tests.accounts.support import bearer
from tests.factories import create_user, password_grant, register_oauth_app

PASSWORD = "amber-walrus-pa55phrase-77"
PUBLIC_TEXT = "my-public-musing-4821"
DIRECT_TEXT = "my-private-whisper-9375"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """JSON logging as the server configures it, at debug, written into a buffer."""
    configure_logging("debug", "json")
    buffer = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    yield buffer
    configure_logging("warning", "json")


async def test_passwords_tokens_and_message_text_never_reach_the_log(
    app: FastAPI, client: httpx.AsyncClient, log_output: io.StringIO
) -> None:
    await create_user(app, "writer", password=PASSWORD)
    await create_user(app, "reader")
    oauth_app = await register_oauth_app(client)
    granted = await password_grant(client, oauth_app, "writer@example.com", PASSWORD)
    assert granted.status_code == 200, granted.text
    token = granted.json()["access_token"]
    wrong = await password_grant(client, oauth_app, "writer@example.com", PASSWORD + "x")
    assert wrong.status_code >= 400
    for text, visibility in ((PUBLIC_TEXT, "public"), (f"@reader {DIRECT_TEXT}", "direct")):
        posted = await client.post(
            "/api/v1/statuses",
            json={"status": text, "visibility": visibility},
            headers=bearer(token),
        )
        assert posted.status_code == 200, posted.text
    await client.get(f"/api/v1/timelines/home?access_token={token}")
    await client.get("/api/v1/accounts/verify_credentials", headers=bearer(token + "nope"))
    output = log_output.getvalue()
    assert output  # the requests were logged
    for secret in (PASSWORD, token, oauth_app["client_secret"], PUBLIC_TEXT, DIRECT_TEXT):
        assert secret not in output
