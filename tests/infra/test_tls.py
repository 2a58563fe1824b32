"""The outgoing clients' TLS context: built once, and as strict as httpx's own."""

from __future__ import annotations

import ssl

import httpx

from connecthub.infra import tls


def test_one_context_per_setting_verifying_certificates_and_names() -> None:
    shared = tls.client_context(trust_env=False)
    assert tls.client_context(trust_env=False) is shared
    assert tls.client_context(trust_env=True) is not shared
    for trust_env in (False, True):
        context = tls.client_context(trust_env=trust_env)
        own = httpx.create_ssl_context(trust_env=trust_env)
        assert context.verify_mode == own.verify_mode == ssl.CERT_REQUIRED
        assert context.check_hostname == own.check_hostname is True
        assert context.minimum_version == own.minimum_version
        assert context.cert_store_stats()["x509_ca"] == own.cert_store_stats()["x509_ca"] > 0
