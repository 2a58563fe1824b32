"""The instance documents answered from prebuilt bytes (http/edge.py): a plain GET through
the ASGI app skips the steps that have nothing to do for it, and under `connecthub serve`'s
uvicorn one the process can decide without an await is answered as soon as its headers
are read (`EdgeMiddleware.answer_now`, serving.GuardedHttpToolsProtocol). Each way must
answer exactly as the route does: the same status, body and headers (but the per-request
ones), the same request id, rate-limit headers, access metrics."""

from __future__ import annotations

import gzip
import socket
from typing import TYPE_CHECKING, Any

import brotli  # type: ignore[import-untyped]
import httpx
from fastapi import FastAPI

from connecthub.http.edge import EdgeMiddleware
from tests.ops.test_metrics import sample
from tests.servers import start_inprocess_server
from tests.support import probe

if TYPE_CHECKING:
    from tests.conftest import TestEnv

_PER_REQUEST = {"x-request-id", "x-ratelimit-remaining", "x-ratelimit-reset", "date"}


def _edge(app: FastAPI) -> EdgeMiddleware:
    if app.middleware_stack is None:
        app.middleware_stack = app.build_middleware_stack()
    layer: Any = app.middleware_stack
    while not isinstance(layer, EdgeMiddleware):
        layer = layer.app
    return layer


def _stable(response: httpx.Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k not in _PER_REQUEST]


async def _plain_get(
    client: httpx.AsyncClient, path: str, coding: str | None = None, **headers: str
) -> httpx.Response:
    """GET with no header the client adds by itself but Host (Accept-Encoding only when
    `coding` is given)."""
    request = client.build_request("GET", path, headers=headers)
    for name in ("accept-encoding", "accept", "connection", "user-agent"):
        request.headers.pop(name, None)
    if coding is not None:
        request.headers["accept-encoding"] = coding
    return await client.send(request)


def _assert_same_answer(
    answered: tuple[int, bytes, bytes] | None, routed: httpx.Response, coding: str
) -> None:
    """`answer_now`'s answer to a client accepting `coding` is the route's: the same
    headers (but the per-request ones), the same body once decoded."""
    assert answered is not None
    status, lines, body = answered
    assert status == routed.status_code == 200
    sent = [line.split(": ", 1) for line in lines.decode("latin-1").split("\r\n") if line]
    expected = [(k, v) for k, v in routed.headers.multi_items() if k not in _PER_REQUEST]
    assert sorted((k, v) for k, v in sent if k not in _PER_REQUEST) == sorted(expected)
    encoded = routed.headers.get("content-encoding")
    if encoded is None:
        assert body == routed.content
        return
    assert encoded == coding
    decoded = brotli.decompress(body) if coding == "br" else gzip.decompress(body)
    assert decoded == routed.content


async def test_a_plain_get_answers_as_the_route_does(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    edge = _edge(app)
    assert set(edge.prebuilt) == {
        "/api/v1/instance",
        "/api/v1/instance/",
        "/api/v2/instance",
        "/api/v2/instance/",
    }
    for path in ("/api/v1/instance", "/api/v2/instance/"):
        short = await _plain_get(client, path, **{"X-Request-Id": "mine-1"})
        prebuilt, edge.prebuilt = edge.prebuilt, {}
        try:
            routed = await _plain_get(client, path, **{"X-Request-Id": "mine-2"})
        finally:
            edge.prebuilt = prebuilt
        assert short.status_code == routed.status_code == 200
        assert short.content == routed.content
        assert _stable(short) == _stable(routed)
        assert short.headers["x-request-id"] == "mine-1"
        assert int(short.headers["x-ratelimit-remaining"]) >= 0
        assert short.headers["content-length"] == str(len(short.content))


async def test_answer_now_gives_the_routes_answer_once_everything_is_held(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """`answer_now` answers only what it can decide in the process: before the document
    is rendered, nothing (and nothing counted); after, the route's head and body."""
    _edge(app)
    answer_now = app.state.answer_now

    def scope(path: str, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
        return {
            "type": "http",
            "method": "GET",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("127.0.0.1", 40000),
            "scheme": "http",
            "state": {},
        }

    routed = await _plain_get(client, "/api/v1/instance")  # renders it, counts the IP
    assert routed.status_code == 200
    answered = answer_now(scope("/api/v1/instance", (b"x-request-id", b"now-1")))
    if answered is None:
        # The rate limiter keeps this IP's count elsewhere (Redis, not yet synced near):
        # the next request through the app syncs it.
        await _plain_get(client, "/api/v1/instance")
        answered = answer_now(scope("/api/v1/instance", (b"x-request-id", b"now-1")))
    assert answered is not None
    status, lines, body = answered
    assert status == 200
    assert body == routed.content
    sent = dict(line.split(": ", 1) for line in lines.decode("latin-1").split("\r\n") if line)
    assert sent.pop("x-request-id") == "now-1"
    expected = {k: v for k, v in routed.headers.items() if k not in _PER_REQUEST}
    assert {k: v for k, v in sent.items() if k not in _PER_REQUEST} == expected
    assert int(sent["x-ratelimit-remaining"]) < int(routed.headers["x-ratelimit-remaining"])
    # A client that accepts compression (every real app): compressed as the route does,
    # once per document (the same bytes answer the next such request).
    for coding in ("br", "gzip"):
        routed = await _plain_get(client, "/api/v1/instance", coding)
        assert routed.headers["content-encoding"] == coding
        accepts = (b"accept-encoding", f"{coding}, deflate".encode())
        answered = answer_now(scope("/api/v1/instance", accepts))
        _assert_same_answer(answered, routed, coding)
        again = answer_now(scope("/api/v1/instance", accepts))
        assert again is not None
        assert answered is not None
        assert again[2] is answered[2]
    # Not a plain GET, or not a prebuilt path: the usual way.
    assert answer_now(scope("/api/v1/instance", (b"if-none-match", b"*"))) is None
    assert answer_now(scope("/api/v1/instance", (b"origin", b"https://app.example"))) is None
    assert answer_now(scope("/api/v1/instance/rules")) is None
    # A token the process does not hold: the usual way (which resolves it).
    assert answer_now(scope("/api/v1/instance", (b"authorization", b"Bearer unknown"))) is None


async def test_verify_credentials_is_answered_now_once_held(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """verify_credentials at once: the route's answer for a token that may read it, held
    near after the first read; a token without the scope, or none, goes the usual way (a
    403 or 401 from the route)."""
    from tests.factories import create_token, create_user
    from tests.social_factories import auth, user_with_token

    _edge(app)
    answer_now = app.state.answer_now
    account, token = await user_with_token(app, "reader")
    path = "/api/v1/accounts/verify_credentials"
    routed = [await _plain_get(client, path, **auth(token)) for _ in range(2)]
    assert routed[0].status_code == 200
    assert routed[0].json()["username"] == "reader"

    def scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
        return {
            "type": "http",
            "method": "GET",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("127.0.0.1", 40000),
            "scheme": "http",
            "state": {},
        }

    bearer = (b"authorization", f"Bearer {token}".encode())
    answered = answer_now(scope(bearer))
    assert answered is not None
    status, lines, body = answered
    assert (status, body) == (200, routed[1].content)
    sent = [line.split(": ", 1) for line in lines.decode("latin-1").split("\r\n") if line]
    expected = [(k, v) for k, v in routed[1].headers.multi_items() if k not in _PER_REQUEST]
    assert [(k, v) for k, v in sent if k not in _PER_REQUEST] == expected
    # With Accept-Encoding too, compressed when the route's answer is (a long enough one).
    bio = await client.patch(
        "/api/v1/accounts/update_credentials", data={"note": "words " * 80}, headers=auth(token)
    )
    assert bio.status_code == 200, bio.text
    routed_gzip = await _plain_get(client, path, "gzip", **auth(token))
    routed_gzip = await _plain_get(client, path, "gzip", **auth(token))  # held near now
    assert routed_gzip.headers["content-encoding"] == "gzip"
    answered = answer_now(scope(bearer, (b"accept-encoding", b"gzip")))
    _assert_same_answer(answered, routed_gzip, "gzip")
    # A token without `read:accounts` or `profile`: the route's 403, not an answer now.
    pushing, _ = await create_user(app, "pusher")
    push_only = await create_token(app, pushing.id, scopes=frozenset({"push"}))
    await _plain_get(client, path, **auth(push_only))  # holds the token near
    assert answer_now(scope((b"authorization", f"Bearer {push_only}".encode()))) is None
    assert (await _plain_get(client, path, **auth(push_only))).status_code == 403
    assert answer_now(scope()) is None  # anonymous: the route's 401
    assert account.id


async def test_a_kept_home_page_is_answered_now_as_the_route_answers_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Home at once, in both modes: the route's answer (its `Link` header too) for a token
    that may read it and a query of page parameters only, once this process keeps the page;
    a change the page depends on, another query, or a token the route refuses goes the
    usual way."""
    from tests.factories import create_token
    from tests.social_factories import auth, post_status, user_with_token
    from tests.timelines.support import settle

    _edge(app)
    answer_now = app.state.answer_now
    alice, alice_token = await user_with_token(app, "alice")
    bob, bob_token = await user_with_token(app, "bob")
    followed = await client.post(f"/api/v1/accounts/{bob.id}/follow", headers=auth(alice_token))
    assert followed.status_code == 200
    posted = [await post_status(client, bob_token, f"post {n}") for n in range(3)]
    await settle(app)
    path = "/api/v1/timelines/home"

    def scope(query: bytes, token: str | None = alice_token, *headers: Any) -> dict[str, Any]:
        bearer = [(b"authorization", f"Bearer {token}".encode())] if token else []
        return {
            "type": "http",
            "method": "GET",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "headers": [(b"host", b"testserver"), *bearer, *headers],
            "client": ("127.0.0.1", 40000),
            "scheme": "http",
            "state": {},
        }

    async def routed(query: str, token: str = alice_token, coding: str | None = None) -> Any:
        for _ in range(3):  # kept from the read after the one that rendered afresh
            target = f"{path}?{query}" if query else path
            response = await _plain_get(client, target, coding, **auth(token))
            assert response.status_code == 200, response.text
        return response

    older = posted[2]["id"]
    for query in ("", "limit=2", f"max_id={older}&limit=5", "since_id=1"):
        usual = await routed(query)
        assert usual.json(), query
        answered = answer_now(scope(query.encode()))
        _assert_same_answer(answered, usual, "identity")
        assert answered is not None
        assert b"link: " in answered[1]
    gzipped = await routed("limit=2", coding="gzip")
    accepts = (b"accept-encoding", b"gzip")
    _assert_same_answer(answer_now(scope(b"limit=2", alice_token, accepts)), gzipped, "gzip")

    # Not kept, or not only page parameters, or a page the route refuses: the usual way.
    others = (b"limit=3", b"limit=2&local=true", b"limit=0", b"limit=2&limit=3", b"max_id=%32")
    for query in (*others, b"limit="):
        assert answer_now(scope(query)) is None, query
    # A token without `read:statuses`, or none: the route's 403 or 401.
    writer = await create_token(app, alice.id, scopes=frozenset({"write"}))
    assert (await _plain_get(client, path, **auth(writer))).status_code == 403
    assert answer_now(scope(b"limit=2", writer)) is None
    assert answer_now(scope(b"limit=2", None)) is None
    # A new post by someone alice follows changes the page: the usual way reads it afresh.
    newest = await post_status(client, bob_token, "post 3")
    await settle(app)
    assert answer_now(scope(b"limit=2")) is None
    again = await routed("limit=2")
    assert again.json()[0]["id"] == newest["id"]
    _assert_same_answer(answer_now(scope(b"limit=2")), again, "identity")


def _exchange(sock: socket.socket, request: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """One request and its answer on a raw socket: status line, headers, body."""
    sock.sendall(request)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, received
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(": ")
        assert name not in headers, f"{name} twice"
        headers[name] = value
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk
        body += chunk
    return lines[0].encode(), headers, body


def test_the_server_answers_a_plain_get_at_once_as_the_route_does(test_env: TestEnv) -> None:
    apps: list[FastAPI] = []
    server = start_inprocess_server(test_env, prepare=apps.append)
    try:
        app = apps[0]
        host, port = server.url.removeprefix("http://").split(":")
        with httpx.Client(base_url=server.url, verify=probe.ssl_context()) as client:
            routed = client.get("/api/v1/instance", headers={"Accept-Encoding": "identity"})
            assert routed.status_code == 200
            client.get("/api/v1/instance", headers={"Accept-Encoding": "identity"})
        calls: list[tuple[str, bool]] = []
        queries: list[bytes] = []
        answer_now = app.state.answer_now

        def spying(scope: dict[str, Any]) -> Any:
            answer = answer_now(scope)
            calls.append((scope["path"], answer is not None))
            queries.append(scope["query_string"])
            return answer

        scrape = probe.get(f"{server.url}/metrics", timeout=30).text
        labels = {"route": "/api/v1/instance", "method": "GET", "status": "200"}
        before = sample(scrape, "connecthub_http_requests_total", **labels) or 0
        app.state.answer_now = spying  # read by each new connection
        plain = b"GET /api/v1/instance HTTP/1.1\r\nHost: %s\r\nX-Request-Id: raw-%d\r\n\r\n"
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            answers = [_exchange(sock, plain % (host.encode(), n)) for n in range(3)]
            closing = _exchange(
                sock, b"GET /api/v1/instance HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            assert sock.recv(1) == b""  # closed after the answer, as asked
        # Each one answered at once; on a loaded machine what the process held may have
        # lapsed before the first (it then goes the usual way and holds it again).
        assert [path for path, _ in calls] == ["/api/v1/instance"] * 4
        assert all(at_once for _, at_once in calls[1:]), calls
        stable = {k: v for k, v in routed.headers.items() if k not in _PER_REQUEST}
        for number, (status, headers, body) in enumerate(answers):
            assert status == b"HTTP/1.1 200 OK"
            assert body == routed.content
            assert headers.pop("x-request-id") == f"raw-{number}"
            assert "connection" not in headers
            assert {k: v for k, v in headers.items() if k not in _PER_REQUEST} == stable
        remaining = [int(headers["x-ratelimit-remaining"]) for _, headers, _ in answers]
        assert remaining == sorted(remaining, reverse=True)
        assert remaining[0] > remaining[-1]
        assert closing[1]["connection"] == "close"
        assert closing[2] == routed.content
        # HTTP/1.0: answered and closed.
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            old = _exchange(sock, b"GET /api/v2/instance HTTP/1.0\r\nHost: x\r\n\r\n")
            assert old[0] == b"HTTP/1.1 200 OK"
            assert old[1]["connection"] == "close"
            assert sock.recv(1) == b""
        scrape = probe.get(f"{server.url}/metrics", timeout=30).text
        assert (sample(scrape, "connecthub_http_requests_total", **labels) or 0) == before + 4
        # Anything else goes the usual way: with a query, a body, another method.
        with httpx.Client(base_url=server.url, verify=probe.ssl_context()) as client:
            calls.clear()
            queries.clear()
            assert client.get("/api/v1/instance?x=1").content == routed.content
            assert client.head("/api/v1/instance").status_code in (200, 405)
            assert client.get("/api/v1/instance/rules").status_code == 200
        assert all(not answered for _, answered in calls)
        # The query reached the app as uvicorn reads it (the instance refuses any).
        assert (calls[0], queries[0]) == (("/api/v1/instance", False), b"x=1")
    finally:
        server.stop()
