"""``/docs`` renders in Chromium with the network cut off, and asks no other host for anything.

Chromium resolves no host name but ``localhost``, every request the page makes is recorded,
and any request to another host than the server's is refused (and fails the test).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from chromium import launch
from live_api import LiveServer

pytestmark = pytest.mark.browser

#: Generous: the machine is shared; nothing here measures speed.
DEADLINE_MS = 60_000


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_docs_render_offline_from_this_server_only(live_server: LiveServer) -> None:
    from playwright.sync_api import Route, sync_playwright

    own = urlsplit(live_server.base_url).netloc
    requested: list[str] = []
    foreign: list[str] = []
    problems: list[str] = []

    def guard(route: Route) -> None:
        url = route.request.url
        requested.append(url)
        if urlsplit(url).scheme in ("data", "blob"):
            route.continue_()
        elif urlsplit(url).netloc != own:
            foreign.append(url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            context = browser.new_context(service_workers="block")
            context.route("**/*", guard)
            page = context.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.goto(f"{live_server.base_url}/docs", wait_until="load", timeout=DEADLINE_MS)
            operations = page.locator(".opblock")
            operations.first.wait_for(state="visible", timeout=DEADLINE_MS)
            title = page.locator(".info .title").inner_text(timeout=DEADLINE_MS)
            summaries = page.locator(".opblock-summary-path").all_inner_texts()
            authorize = page.locator("button.authorize").is_visible()
        finally:
            browser.close()

    assert foreign == [], f"the page asked other hosts: {foreign}"
    assert "scorecast" in title
    assert authorize, "no Authorize button: the API token scheme is missing"
    assert "/api/v2/batchPredictions/" in summaries, summaries
    assert any(url.endswith("/api/v2/openapi.json") for url in requested), requested
    assert any("/docs/assets/swagger-ui-bundle.js" in url for url in requested), requested
    assert problems == [], problems
