"""A small HTTP origin for preview-card tests, on a loopback address of the test's choice:
each path answers as the test says (a page, an image, a redirect, a huge or dripping body,
a wrong content type), and every request it receives is recorded, so a test can assert
that a forbidden address was never asked anything."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from tests.conftest import free_port

Writer = Callable[[asyncio.StreamWriter], Awaitable[None]]


def answer(status: str, content_type: str, body: bytes, **headers: str) -> Writer:
    async def write(writer: asyncio.StreamWriter) -> None:
        lines = [
            f"HTTP/1.1 {status}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            "Connection: close",
            *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()

    return write


def redirect(location: str) -> Writer:
    return answer("302 Found", "text/html", b"", Location=location)


def streamed(content_type: str, chunk: bytes, count: int, pause: float = 0.0) -> Writer:
    """A body of `count` chunks with no Content-Length (chunked), `pause` seconds apart."""

    async def write(writer: asyncio.StreamWriter) -> None:
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode())
        for _ in range(count):
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()
            if pause:
                await asyncio.sleep(pause)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    return write


@dataclass
class Origin:
    host: str
    port: int
    routes: dict[str, Writer] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)

    def url(self, path: str, name: str | None = None) -> str:
        host = name or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"http://{host}:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            path = request_line.split(" ")[1]
            host = next(
                (h.split(":", 1)[1].strip() for h in header_lines if h.lower().startswith("host:")),
                "",
            )
            self.requests.append((path, host))
            route = self.routes.get(path, answer("404 Not Found", "text/plain", b"no"))
            await route(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def origin(host: str = "127.0.0.1", **routes: Writer) -> AsyncIterator[Origin]:
    """An origin listening on `host` (a free port); `routes` by path ("/page": …), more may
    be added to `.routes` afterwards."""
    served = Origin(host, free_port())
    served.routes.update(routes)
    server = await asyncio.start_server(served._serve, host, served.port)
    try:
        yield served
    finally:
        server.close()
        await server.wait_closed()


def page(title: str, image_url: str | None = None, **extra: str) -> bytes:
    """An HTML page with Open Graph tags (and a plain <title> that OG wins over)."""
    tags = [
        f'<meta property="og:title" content="{title}">',
        '<meta property="og:description" content="What the page is about.">',
        '<meta property="og:site_name" content="Test Site">',
        '<meta name="author" content="Ada Writer">',
        '<meta property="article:published_time" content="2026-01-02T03:04:05Z">',
    ]
    if image_url:
        tags.append(f'<meta property="og:image" content="{image_url}">')
        tags.append('<meta property="og:image:alt" content="A test picture">')
    tags += [f'<meta property="{name}" content="{value}">' for name, value in extra.items()]
    return (
        '<!doctype html><html lang="en"><head><title>Plain title</title>'
        + "".join(tags)
        + "</head><body><p>Hello</p></body></html>"
    ).encode()
