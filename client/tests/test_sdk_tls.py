"""TLS trust: the CA bundle for https endpoints; none at all (not "no checks") for http ones."""

from __future__ import annotations

import ssl

from scorecast_client._transport import tls_trust


def test_an_https_endpoint_verifies_with_the_usual_ca_bundle() -> None:
    assert tls_trust("https://scoring.example.com/api/v2") is True
    assert tls_trust("HTTPS://scoring.example.com/api/v2") is True


def test_an_http_endpoint_still_verifies_but_trusts_no_certificate() -> None:
    context = tls_trust("http://127.0.0.1:8080/api/v2")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.cert_store_stats()["x509_ca"] == 0
