"""A webhook request goes to the address its host was checked at, with the URL's Host."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from notification_receivers import webhook_receiver
from scorecast.runtime.notification_transport import pinned


def test_pinned_urls_keep_path_query_and_host() -> None:
    target, host, extensions = pinned(
        urlsplit("https://hooks.example.com/a/b?x=1"), "93.184.216.34"
    )
    assert (target, host) == ("https://93.184.216.34/a/b?x=1", "hooks.example.com")
    assert extensions == {"sni_hostname": "hooks.example.com"}
    target, host, extensions = pinned(urlsplit("http://hooks.example.com:8080"), "2606:2800::1")
    assert (target, host, extensions) == (
        "http://[2606:2800::1]:8080/",
        "hooks.example.com:8080",
        {},
    )


def test_a_pinned_request_reaches_the_address_with_the_urls_host() -> None:
    with webhook_receiver(None) as receiver:
        port = urlsplit(receiver.url).port
        parts = urlsplit(f"http://hooks.example.com:{port}/hook")
        target, host, extensions = pinned(parts, "127.0.0.1")
        with httpx.Client(trust_env=False, timeout=120) as client:
            request = client.build_request(
                "POST", target, content=b"{}", headers={"host": host}, extensions=extensions
            )
            assert client.send(request).status_code == 200
        (received,) = receiver.wait_for(1)
    assert received.headers["host"] == f"hooks.example.com:{port}"
