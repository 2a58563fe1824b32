"""The fetcher (infra/public_fetch.py) against real servers on loopback: what it fetches
from an allowed host, and what it refuses — each refusal asserted on the server too: a
forbidden address is never sent a request."""

from __future__ import annotations

import time

import pytest

from connecthub.infra.public_fetch import MAX_REDIRECTS, FetchPolicy, FetchRefused, fetch
from tests.cards.origin import answer, origin, page, redirect, streamed

HTML = ("text/html",)
OPEN = FetchPolicy(max_bytes=64 * 1024, timeout_seconds=5, accept=HTML)  # no host allowed


def allowing(*hosts: str, **changes: object) -> FetchPolicy:
    values: dict[str, object] = {
        "max_bytes": 64 * 1024,
        "timeout_seconds": 5.0,
        "accept": HTML,
        "allowed_hosts": frozenset(hosts),
        **changes,
    }
    return FetchPolicy(**values)  # type: ignore[arg-type]


async def refused(url: str, policy: FetchPolicy = OPEN) -> str:
    with pytest.raises(FetchRefused) as caught:
        await fetch(url, policy)
    return caught.value.reason


async def test_an_allowed_host_is_fetched_with_its_name_in_host() -> None:
    body = page("Hello")
    async with origin(**{"/page": answer("200 OK", "text/html; charset=utf-8", body)}) as site:
        fetched = await fetch(site.url("/page"), allowing("127.0.0.1"))
    assert fetched.body == body
    assert fetched.content_type == "text/html"
    assert fetched.charset == "utf-8"
    assert site.requests == [("/page", f"127.0.0.1:{site.port}")]


async def test_the_name_is_sent_while_the_checked_address_is_connected_to() -> None:
    async with origin(**{"/page": answer("200 OK", "text/html", page("Hi"))}) as site:
        site.routes["/bad-redirect"] = redirect("http://[bad")
        fetched = await fetch(site.url("/page", "localhost"), allowing("localhost"))
        assert fetched.url == site.url("/page", "localhost")
        assert site.requests == [("/page", f"localhost:{site.port}")]
        # A malformed Location is a refusal like any other (never an unexpected error).
        assert await refused(site.url("/bad-redirect"), allowing("127.0.0.1"))


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("127.0.0.1", None),
        ("127.0.0.1", "localhost"),  # a name that resolves to loopback
        ("127.0.0.1", "[::ffff:127.0.0.1]"),  # IPv4-mapped IPv6
        ("127.0.0.1", "127.1"),  # a short form of 127.0.0.1
        ("127.0.0.1", "2130706433"),  # 127.0.0.1 as one number
        ("::1", None),
    ],
)
async def test_loopback_is_refused_without_a_request(host: str, name: str | None) -> None:
    ok = answer("200 OK", "text/html", page("secret"))
    async with origin(host, **{"/admin": ok}) as site:
        reason = await refused(site.url("/admin", name and f"{name}"))
    assert "loopback" in reason or "resolve" in reason
    assert site.requests == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.1.2.3/", "private"),
        ("http://192.168.0.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "private"),
        ("http://100.100.100.200/latest/meta-data/", "carrier-grade NAT"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://[::ffff:169.254.169.254]/", "link-local (in IPv6)"),
        ("http://[64:ff9b::a9fe:a9fe]/", "link-local (in IPv6)"),
        ("ftp://example.com/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("not a url", "scheme"),
    ],
)
async def test_forbidden_addresses_are_refused_before_connecting(url: str, reason: str) -> None:
    started = time.monotonic()
    assert reason in await refused(url)
    # Refused by the rule, not by a connection attempt timing out.
    assert time.monotonic() - started < 2


async def test_a_redirect_to_a_forbidden_address_is_refused_at_that_hop() -> None:
    """An allowed host (standing in for a public site) redirects to loopback addresses it
    does not name: the hop is refused and the target never hears of it."""
    secret = answer("200 OK", "text/html", page("secret"))
    async with origin("127.0.0.2", **{"/secret": secret}) as inside, origin() as public:
        public.routes["/to-ip"] = redirect(inside.url("/secret"))
        public.routes["/to-name"] = redirect(inside.url("/secret", "localhost"))
        public.routes["/to-mapped"] = redirect(inside.url("/secret", "[::ffff:127.0.0.2]"))
        policy = allowing("127.0.0.1")
        for path in ("/to-ip", "/to-name", "/to-mapped"):
            assert "loopback" in await refused(public.url(path), policy)
        assert [path for path, _host in public.requests] == ["/to-ip", "/to-name", "/to-mapped"]
    assert inside.requests == []


async def test_redirects_are_followed_within_the_limit() -> None:
    async with origin() as site:
        site.routes["/final"] = answer("200 OK", "text/html", page("Final"))
        for hop in range(MAX_REDIRECTS + 1):
            target = "/final" if hop == 0 else f"/hop{hop - 1}"
            site.routes[f"/hop{hop}"] = redirect(target)
        fetched = await fetch(site.url(f"/hop{MAX_REDIRECTS - 1}"), allowing("127.0.0.1"))
        assert fetched.url == site.url("/final")
        assert "redirects" in await refused(site.url(f"/hop{MAX_REDIRECTS}"), allowing("127.0.0.1"))


async def test_an_oversized_body_is_cut_off() -> None:
    chunk = b"<p>" + b"x" * 8189 + b"</p>"
    async with origin() as site:
        site.routes["/huge"] = streamed("text/html", chunk, count=64)  # 512 KiB, undeclared
        site.routes["/declared"] = answer("200 OK", "text/html", b"x" * 100_000)
        policy = allowing("127.0.0.1", max_bytes=32 * 1024)
        assert "over 32768 bytes" in await refused(site.url("/huge"), policy)
        assert "declares 100000 bytes" in await refused(site.url("/declared"), policy)


@pytest.mark.slow
async def test_a_slow_body_meets_the_time_cap() -> None:
    async with origin() as site:
        # A byte at a time, each well within any per-read timeout, for far longer than the cap.
        site.routes["/drip"] = streamed("text/html", b"x", count=600, pause=0.05)
        started = time.monotonic()
        reason = await refused(site.url("/drip"), allowing("127.0.0.1", timeout_seconds=1.0))
    assert "took over 1.0 s" in reason
    assert time.monotonic() - started < 10


async def test_the_content_type_must_be_expected() -> None:
    async with origin() as site:
        site.routes["/json"] = answer("200 OK", "application/json", b"{}")
        site.routes["/none"] = answer("200 OK", "", b"<html></html>")
        site.routes["/image"] = answer("200 OK", "image/png", b"\x89PNG")
        site.routes["/page"] = answer("200 OK", "text/html", page("A page"))
        html = allowing("127.0.0.1")
        images = allowing("127.0.0.1", accept=("image/",))
        assert "content type 'application/json'" in await refused(site.url("/json"), html)
        assert "content type" in await refused(site.url("/none"), html)
        assert "content type 'text/html'" in await refused(site.url("/page"), images)
        assert (await fetch(site.url("/image"), images)).content_type == "image/png"
        assert "content type 'image/png'" in await refused(site.url("/image"), html)


async def test_an_error_status_is_refused() -> None:
    async with origin() as site:
        assert "answered 404" in await refused(site.url("/missing"), allowing("127.0.0.1"))
