"""Responses compressed for clients that accept it (brotli first, then gzip), never for
pages that carry a secret (BREACH), never for streams, never below 1 KiB."""

from __future__ import annotations

import gzip
from typing import Any

import brotli
import httpx
import orjson
import pytest

from connecthub.http import compression


async def _raw(
    client: httpx.AsyncClient, path: str, encoding: str | None
) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent (httpx would decode it otherwise)."""
    headers = {"Accept-Encoding": encoding if encoding is not None else "identity"}
    response = await client.send(client.build_request("GET", path, headers=headers), stream=True)
    body = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return response, body


async def test_brotli_first_then_gzip_and_the_same_document(client: httpx.AsyncClient) -> None:
    plain, document = await _raw(client, "/api/v1/instance", None)
    assert "content-encoding" not in plain.headers
    assert len(document) >= compression.MIN_BYTES

    response, body = await _raw(client, "/api/v1/instance", "gzip, deflate, br")
    assert response.headers["content-encoding"] == "br"
    assert int(response.headers["content-length"]) == len(body) < len(document)
    assert "Accept-Encoding" in response.headers["vary"]
    assert orjson.loads(brotli.decompress(body)) == orjson.loads(document)

    response, body = await _raw(client, "/api/v1/instance", "br;q=0, gzip")
    assert response.headers["content-encoding"] == "gzip"
    assert orjson.loads(gzip.decompress(body)) == orjson.loads(document)


async def test_small_answers_and_secret_pages_are_sent_as_they_are(
    client: httpx.AsyncClient,
) -> None:
    response, _ = await _raw(client, "/health/live", "br")
    assert "content-encoding" not in response.headers
    # The sign-in page carries a CSRF token beside what the query reflects.
    response, page = await _raw(client, "/auth/sign_in", "br, gzip")
    assert response.status_code == 200
    assert len(page) >= compression.MIN_BYTES
    assert "content-encoding" not in response.headers


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"br", b"br"),
        (b"gzip", b"gzip"),
        (b"*", b"gzip"),
        (b"gzip;q=0, br;q=0", None),
        (b"identity", None),
        (b"br;q=banana, gzip", b"gzip"),
    ],
)
def test_the_coding_follows_accept_encoding(header: bytes, expected: bytes | None) -> None:
    scope = {
        "method": "GET",
        "path": "/api/v1/timelines/home",
        "headers": [(b"accept-encoding", header)],
    }
    assert compression.encoding_for(scope) == expected


@pytest.mark.parametrize(
    "path", ["/oauth/token", "/api/v1/apps", "/oauth/authorize", "/auth/sign_in"]
)
def test_answers_with_secrets_are_never_compressed(path: str) -> None:
    scope = {"method": "POST", "path": path, "headers": [(b"accept-encoding", b"br, gzip")]}
    assert compression.encoding_for(scope) is None


async def test_a_stream_passes_through() -> None:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    wrapped = compression.CompressingSend(send, b"br")
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/event-stream")],
    }
    chunk = {"type": "http.response.body", "body": b"data: x\n\n" * 200, "more_body": True}
    await wrapped(start)
    await wrapped(chunk)
    await wrapped({"type": "http.response.body", "body": b"", "more_body": False})
    assert sent[0] is start
    assert sent[1] is chunk
    assert len(sent) == 3
