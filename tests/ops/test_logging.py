"""Logs are JSON, and no password, token or e-mail address ever reaches them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from connecthub.ops.logging import configure_logging
from tests.conftest import start_server, stop_process
from tests.support import probe

SECRETS = (
    "hunter2-password",
    "tok-abc.DEF_123",
    "alice.secret@example.com",
    "bearer-9f8e7d6c",
    "db-pa55word",
)


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """JSON logging as the server configures it, written into a buffer."""
    configure_logging("debug", "json")
    buffer = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    yield buffer
    configure_logging("warning", "json")


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_structlog_lines_are_json_without_secrets(log_output: io.StringIO) -> None:
    log = structlog.get_logger("tests.logging")
    log.info(
        "user alice.secret@example.com signed in",
        password="hunter2-password",
        token="tok-abc.DEF_123",
        headers={"Authorization": "Bearer bearer-9f8e7d6c", "Accept": "application/json"},
        note="retrying with Authorization: Bearer bearer-9f8e7d6c",
        url="/api/v1/streaming?access_token=tok-abc.DEF_123&stream=user",
        database="postgresql://connecthub:db-pa55word@db.internal:5432/connecthub",
        recipients=["alice.secret@example.com"],
        attempts=3,
    )
    output = log_output.getvalue()
    for secret in SECRETS:
        assert secret not in output
    (line,) = lines(log_output)
    assert line["event"] == "user [redacted] signed in"
    assert line["password"] == "[redacted]"
    assert line["token"] == "[redacted]"
    assert line["headers"] == {"Authorization": "[redacted]", "Accept": "application/json"}
    assert line["note"] == "retrying with Authorization: Bearer [redacted]"
    assert line["url"] == "/api/v1/streaming?access_token=[redacted]&stream=user"
    assert "db.internal:5432" in line["database"]
    assert line["attempts"] == 3
    assert line["level"] == "info"
    assert line["logger"] == "tests.logging"
    assert "timestamp" in line


def test_stdlib_lines_and_tracebacks_are_redacted(log_output: io.StringIO) -> None:
    logging.getLogger("tests.stdlib").warning(
        "login failed for %s with password=%s", "alice.secret@example.com", "hunter2-password"
    )
    log = structlog.get_logger("tests.logging")
    try:
        raise ValueError("token rejected: Bearer bearer-9f8e7d6c")
    except ValueError:
        log.exception("request.failed")
    output = log_output.getvalue()
    for secret in SECRETS:
        assert secret not in output
    stdlib_line, failure = lines(log_output)
    assert stdlib_line["event"] == "login failed for [redacted] with password=[redacted]"
    assert stdlib_line["logger"] == "tests.stdlib"
    assert "ValueError: token rejected: Bearer [redacted]" in failure["exception"]


@pytest.mark.processes
@pytest.mark.timeout(300)
def test_a_real_server_never_logs_credentials(test_env: Any) -> None:
    server = start_server(test_env, LOG_LEVEL="debug")
    try:
        secret_headers = {"Authorization": "Bearer bearer-9f8e7d6c"}
        for path in (
            "/api/v1/accounts/verify_credentials",
            "/api/v1/timelines/home?access_token=tok-abc.DEF_123",
            "/health/ready?email=alice.secret@example.com",
        ):
            response = probe.get(f"{server.url}{path}", headers=secret_headers)
            assert response.status_code < 500
        probe.post(
            f"{server.url}/oauth/token",
            data={
                "grant_type": "password",
                "username": "alice.secret@example.com",
                "password": "hunter2-password",
                "client_secret": "tok-abc.DEF_123",
            },
        )
    finally:
        stop_process(server.process)
    output = server.logs()
    assert '"event": "http.request"' in output
    for secret in SECRETS:
        assert secret not in output
