"""The web console in real Chromium against a real ``scorecast serve --demo`` (SQLite).

What a person does: sign in with the printed token, find the demo definition, run it now and
watch its job finish without reloading, follow a job whose upload is still streaming from
RUNNING to COMPLETED live and download its result, enable and disable the definition, read a
failed job's reason, abort a waiting job; no request leaves 127.0.0.1 and the browser logs no
error. Without a session, without the form's CSRF token, or signed in to another organization,
every page and action is refused. Every page passes axe-core with no serious violation.
Set ``SCORECAST_SCREENSHOTS=DIR`` to keep a screenshot of each page (the docs' pictures).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from serving import ServeProcess, patients_csv, register_demo_model

from chromium import launch, serious_violations, watch

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

DEMO_NAME = "demo_readmission_daily"
WAIT_MS = 120_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    home = tmp_path_factory.mktemp("console-home")
    process = ServeProcess(home, f"sqlite:///{home / 'scorecast.db'}", "--demo").start()
    try:
        process.wait_for_line(r"^demo: scored file: ")
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def site(server: ServeProcess) -> str:
    return server.endpoint.removesuffix("/api/v2")


@pytest.fixture(scope="module")
def deployment(server: ServeProcess) -> str:
    return register_demo_model(server)


@pytest.fixture(scope="module")
def demo_definition(server: ServeProcess) -> str:
    with server.http() as http:
        found = http.get("batchPredictionJobDefinitions/", params={"searchName": DEMO_NAME})
    definition_id: str = found.json()["data"][0]["id"]
    return definition_id


@pytest.fixture
def browser_page(site: str) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A signed-out Chromium page; the URLs it requested and the errors it logged."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(accept_downloads=True)
        requests: list[str] = []
        errors: list[str] = []
        page = watch(context.new_page(), requests, errors)
        try:
            yield page, requests, errors
        finally:
            context.close()
            browser.close()


def sign_in(page: Any, site: str, token: str) -> None:
    page.goto(site + "/")
    assert urlsplit(page.url).path == "/login"
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview").wait_for()


def job_status(page: Any) -> Any:
    return page.locator('[data-field="status"] .status')


def test_run_now_watch_download_disable_and_abort(
    *,
    server: ServeProcess,
    site: str,
    deployment: str,
    demo_definition: str,
    browser_page: tuple[Any, list[str], list[str]],
    tmp_path: Path,
) -> None:
    page, requests, errors = browser_page
    assert server.token
    sign_in(page, site, server.token)

    page.get_by_role("link", name="Definitions").click()
    page.get_by_role("link", name=DEMO_NAME).wait_for()
    page.get_by_role("button", name=f"Run now {DEMO_NAME}").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f]+"))
    job_status(page).filter(has_text="COMPLETED").wait_for(timeout=WAIT_MS)
    assert page.locator("progress").get_attribute("value") in {"100", "100.0"}

    # A job whose upload is held back is RUNNING when its page loads; the page follows it to
    # COMPLETED without a reload, then offers its result for download.
    release = threading.Event()
    job = _submit_held_upload(server, deployment, patients_csv(tmp_path / "in.csv", 4), release)
    page.goto(f"{site}/jobs/{job['id']}")
    assert page.locator(".progress").get_attribute("data-finished") == "false"
    page.evaluate("window.__notReloaded = true")
    release.set()
    job_status(page).filter(has_text="COMPLETED").wait_for(timeout=WAIT_MS)
    assert page.evaluate("window.__notReloaded === true")
    link = page.get_by_role("link", name="Download result")
    link.wait_for(timeout=WAIT_MS)
    with page.expect_download() as download_info:
        link.click()
    downloaded = Path(download_info.value.path()).read_bytes()
    with server.http() as http:
        assert downloaded == http.get(f"batchPredictions/{job['id']}/download/").content
    assert downloaded.count(b"\n") == 2001  # header + 4 x 500 rows

    page.goto(f"{site}/definitions")
    page.get_by_role("button", name=f"Enable {DEMO_NAME}").click()
    page.get_by_text("Enabled.", exact=True).wait_for()
    assert _definition(server, demo_definition)["enabled"] is True
    page.get_by_role("button", name=f"Disable {DEMO_NAME}").click()
    page.get_by_text("Disabled.", exact=True).wait_for()
    assert _definition(server, demo_definition)["enabled"] is False

    failed = _submit(
        server,
        {
            "deploymentId": deployment,
            "intakeSettings": {"type": "filesystem", "url": _missing_input(server)},
            "outputSettings": {"type": "localFile"},
        },
    )
    details = _wait_for_end(server, failed["id"])["statusDetails"]
    page.goto(f"{site}/jobs/{failed['id']}")
    assert page.locator(f'[data-job-details="{failed["id"]}"]').inner_text() == details
    assert "missing-input.csv" in details

    waiting = _submit(
        server,
        {
            "deploymentId": deployment,
            "intakeSettings": {"type": "localFile"},
            "outputSettings": {"type": "localFile"},
        },
    )
    page.goto(f"{site}/jobs/{waiting['id']}")
    page.get_by_role("button", name="Abort").click()
    page.get_by_text("Abort requested.", exact=True).wait_for()
    job_status(page).filter(has_text="ABORTED").wait_for(timeout=WAIT_MS)

    hosts = {urlsplit(url).hostname for url in requests if not url.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, hosts
    assert errors == []


def test_pages_and_actions_refuse_without_session_csrf_or_own_organization(
    server: ServeProcess, site: str, demo_definition: str
) -> None:
    pages = ["/", "/definitions", f"/definitions/{demo_definition}", "/jobs", "/deployments"]
    pages += ["/credentials", "/data-stores"]
    with httpx.Client(base_url=site, follow_redirects=False, timeout=60) as anonymous:
        for path in pages:
            answer = anonymous.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next=")
        refused = anonymous.post(f"/definitions/{demo_definition}/run", data={"csrf": "x"})
        assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
        wrong = anonymous.post("/login", data=_login_form(anonymous, "not-a-token"))
        assert wrong.status_code == 401 and "scorecast_session" not in wrong.cookies
        # login CSRF: a form posted from another site carries no form token and no cookie of
        # this site's sign-in page; so a valid token (the poster's) signs no one in
        assert server.token
        for crossing in (
            {"token": server.token, "next": "/"},
            {"token": server.token, "next": "/", "csrf": _csrf(anonymous.get("/login").text)},
        ):
            with httpx.Client(base_url=site, follow_redirects=False, timeout=60) as other_site:
                posted = other_site.post("/login", data=crossing)
            assert posted.status_code == 403, posted.text
            assert "scorecast_session" not in posted.cookies
            assert "sent from another site" in posted.text
        # a sign-in form in an older tab stays valid when another tab shows the page again
        older = _csrf(anonymous.get("/login").text)
        assert _csrf(anonymous.get("/login").text) == older
        assert "script-src 'self'" in wrong.headers["content-security-policy"]
        assert "unsafe-inline" not in wrong.headers["content-security-policy"]

    jobs_before = _job_count(server)
    assert server.token
    with _signed_in(site, server.token) as own:
        cookie = own.cookies.get("scorecast_session")
        assert cookie
        no_csrf = own.post(f"/definitions/{demo_definition}/run", data={})
        assert no_csrf.status_code == 403
        forged = own.post(f"/definitions/{demo_definition}/run", data={"csrf": "0" * 64})
        assert forged.status_code == 403
    assert _job_count(server) == jobs_before

    other = _token_for(server, "another-org", "mallory")
    with _signed_in(site, other) as stranger:
        assert stranger.get(f"/definitions/{demo_definition}").status_code == 404
        listing = stranger.get("/definitions").text
        assert DEMO_NAME not in listing
        csrf = _csrf(stranger.get("/").text)
        tried = stranger.post(f"/definitions/{demo_definition}/run", data={"csrf": csrf})
        assert tried.status_code == 303 and "error=" in tried.headers["location"]
        tried = stranger.post(
            f"/definitions/{demo_definition}/enabled", data={"csrf": csrf, "enabled": "true"}
        )
        assert tried.status_code == 303 and "error=" in tried.headers["location"]
    assert _job_count(server) == jobs_before
    assert _definition(server, demo_definition)["enabled"] is False


def test_every_page_has_no_serious_accessibility_violation(
    server: ServeProcess, site: str, demo_definition: str, deployment: str
) -> None:
    from playwright.sync_api import sync_playwright

    with server.http() as http:
        job_id = http.get("batchPredictions/").json()["data"][0]["id"]
    paths = ["/", "/definitions", f"/definitions/{demo_definition}", "/jobs", f"/jobs/{job_id}"]
    paths += ["/deployments", f"/deployments/{deployment}", "/credentials", "/data-stores"]
    shots = os.environ.get("SCORECAST_SCREENSHOTS")
    assert server.token
    with sync_playwright() as playwright:
        browser = launch(playwright)
        # axe is injected as a script of the test's own: the console's CSP would refuse it
        context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(site + "/login")
        found = serious_violations(page)
        sign_in(page, site, server.token)
        for path in paths:
            page.goto(site + path)
            found += [f"{path}: {v}" for v in serious_violations(page)]
            if shots:
                name = path.strip("/").replace("/", "-").split("-")[0] or "overview"
                page.screenshot(path=str(Path(shots) / f"console-{name}.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        page.goto(site + "/definitions")
        found += [f"phone /definitions: {v}" for v in serious_violations(page)]
        context.close()
        browser.close()
    assert found == []


@contextmanager
def _signed_in(site: str, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site, follow_redirects=False, timeout=60) as client:
        answer = client.post("/login", data=_login_form(client, token))
        assert answer.status_code == 303, answer.text
        yield client


def _login_form(client: httpx.Client, token: str) -> dict[str, str]:
    """The sign-in form as a browser sends it: after the page, with its form token."""
    return {"token": token, "next": "/", "csrf": _csrf(client.get("/login").text)}


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, html
    return found.group(1)


def _token_for(server: ServeProcess, org: str, user: str) -> str:
    env = {
        **os.environ,
        "SCORECAST_HOME": str(server.home),
        "SCORECAST_DATABASE_URL": server.database_url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "scorecast", "token", "create", "--org", org, "--user", user],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip().splitlines()[-1]


def _definition(server: ServeProcess, definition_id: str) -> dict[str, Any]:
    with server.http() as http:
        found: dict[str, Any] = http.get(f"batchPredictionJobDefinitions/{definition_id}/").json()
    return found


def _job_count(server: ServeProcess) -> int:
    with server.http() as http:
        count: int = http.get("batchPredictions/").json()["totalCount"]
    return count


def _submit(server: ServeProcess, spec: dict[str, Any]) -> dict[str, Any]:
    with server.http() as http:
        answer = http.post("batchPredictions/", json=spec)
    assert answer.status_code == 202, answer.text
    created: dict[str, Any] = answer.json()
    return created


def _missing_input(server: ServeProcess) -> str:
    return (server.home / "demo" / "missing-input.csv").as_uri()


def _wait_for_end(server: ServeProcess, job_id: str) -> dict[str, Any]:
    done = threading.Event()
    with server.http() as http:
        for _ in range(600):
            job: dict[str, Any] = http.get(f"batchPredictions/{job_id}/").json()
            if job["status"] in ("COMPLETED", "ABORTED", "FAILED"):
                return job
            done.wait(0.2)
    raise AssertionError(f"job {job_id} did not end")


def _submit_held_upload(
    server: ServeProcess, deployment: str, source: Path, release: threading.Event
) -> dict[str, Any]:
    """A localFile job whose upload sends its first rows, then waits for ``release``; returns
    once the job is RUNNING."""
    job = _submit(
        server,
        {
            "deploymentId": deployment,
            "intakeSettings": {"type": "localFile"},
            "outputSettings": {"type": "localFile"},
            "chunkSize": 8192,
            "numConcurrent": 1,
        },
    )
    data = source.read_bytes()
    cut = data.index(b"\n", len(data) // 10) + 1

    def body() -> Iterator[bytes]:
        yield data[:cut]
        release.wait(WAIT_MS / 1000)
        yield data[cut:]

    def upload() -> None:
        with server.http() as http:
            http.put(job["links"]["csvUpload"], content=body())

    threading.Thread(target=upload, daemon=True).start()
    with server.http() as http:
        for _ in range(600):
            if http.get(f"batchPredictions/{job['id']}/").json()["status"] == "RUNNING":
                return job
            release.wait(0.2)
    raise AssertionError("the held upload's job never ran")
