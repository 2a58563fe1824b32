"""The TLS settings of the server's outgoing HTTPS clients, built once per process.

httpx builds a new SSL context (loading the CA bundle) for every client it makes: ~5 ms of
CPU each, paid by every link-preview fetch and every OIDC request, which each make a
client. A context built once with the same defaults (`httpx.create_ssl_context`) is
shared instead; it is read-only once built, so clients in any task may use it.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def client_context(*, trust_env: bool) -> ssl.SSLContext:
    """What httpx would build for a client with `verify=True` and this `trust_env`
    (`SSL_CERT_FILE` / `SSL_CERT_DIR` honoured only with it)."""
    return httpx.create_ssl_context(trust_env=trust_env)
