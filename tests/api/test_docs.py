"""``/docs`` is served from this server's own files: every link on the page is same-origin."""

from __future__ import annotations

import re

import httpx
import pytest

from live_api import LiveServer

pytestmark = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def test_docs_page_links_only_this_server(live_server: LiveServer) -> None:
    page = httpx.get(f"{live_server.base_url}/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    links = re.findall(r"""(?:src|href)=["']([^"']+)""", page.text)
    assert links, page.text
    for link in links:
        assert link.startswith("/") and not link.startswith("//"), link
        asset = httpx.get(live_server.base_url + link)
        assert asset.status_code == 200, link
    assert "'/api/v2/openapi.json'" in page.text
    assert "http://" not in page.text and "https://" not in page.text


def test_docs_policy_forbids_other_hosts(live_server: LiveServer) -> None:
    policy = httpx.get(f"{live_server.base_url}/docs").headers["content-security-policy"]
    directives = dict(item.strip().split(" ", 1) for item in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe-inline" not in directives["script-src"]
    assert "http" not in policy


def test_swagger_assets_are_served_and_redoc_is_not(live_server: LiveServer) -> None:
    script = httpx.get(f"{live_server.base_url}/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "SwaggerUIBundle" in script.text
    assert httpx.get(f"{live_server.base_url}/redoc").status_code == 404
    missing = httpx.get(f"{live_server.base_url}/docs/assets/..%2f..%2fetc%2fpasswd")
    assert missing.status_code == 422  # an encoded slash is refused before any route runs
    assert "root:" not in missing.text


def test_openapi_declares_the_api_token(live_server: LiveServer) -> None:
    schema = httpx.get(f"{live_server.url}/openapi.json").json()
    assert schema["components"]["securitySchemes"]["apiToken"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "Your API token as 'Token <token>' (or 'Bearer <token>').",
    }
    assert schema["security"] == [{"apiToken": []}]
