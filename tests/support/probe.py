"""One HTTP client for the harness's polls of the servers it starts, and one SSL context
for the clients tests build per call.

`httpx.get` builds a client for every call, and with it an SSL context that loads the CA
bundle: 57 CPU-ms a call at load ~7, against 0.5 with one client. The loops that wait for
a `connecthub` process to become ready poll every 0.2 s, so a child that took 20 s to
start on a loaded machine cost its test ~5 CPU-s of polling, beside the child it waited
for (docs/benchmarks.md, "Test suite, 2026-12-05 (second pass)"). This client keeps no
connection alive (nor cookies), so each call opens and closes its own connection as
`httpx.get` does; the defaults (timeout, redirects, proxies from the environment) are httpx's own.

An `httpx.AsyncClient` belongs to the event loop of the test that made it, so helpers that
make one per call keep doing so, with `verify=ssl_context()`: the same verification
(httpx's default context, made once), 2 CPU-ms per client instead of 58.
"""

from __future__ import annotations

import functools
import ssl
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from connecthub.infra import tls


def ssl_context() -> ssl.SSLContext:
    """httpx's default verification context, built once per process (the server's own,
    infra/tls.py)."""
    return tls.client_context(trust_env=True)


@functools.cache
def _client() -> httpx.Client:
    # Nor does it keep cookies: one test's sign-in must not follow another's requests.
    no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(
        verify=ssl_context(),
        limits=httpx.Limits(max_keepalive_connections=0),
        cookies=no_cookies,
    )


def get(url: str, **options: Any) -> httpx.Response:
    """`httpx.get(url, **options)` without building a client (and SSL context) per call."""
    return _client().get(url, **options)


def post(url: str, **options: Any) -> httpx.Response:
    """`httpx.post(url, **options)` without building a client (and SSL context) per call."""
    return _client().post(url, **options)
