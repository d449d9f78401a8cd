"""Backfills in the console, in real Chromium against a real ``scorecast serve`` (SQLite).

A nightly definition in Europe/Paris that reads ``in/{scheduled_time:%Y-%m-%d}.csv`` is
back-run over three days through the definition page's form, submitted with JavaScript turned
off (the Preview button counts the fire times first); its progress page, with JavaScript, moves
on its own until the backfill is completed with one job per day, each linked. A range that
ends before it starts, or holds more fire times than the limit, is shown again with the
problem next to the field and creates nothing. A running backfill is cancelled from the
definition's list. Without the CSRF token every form is refused, and another organization
finds neither the definition nor the backfill (404). Every page passes axe-core and no
request leaves 127.0.0.1. ``SCORECAST_SCREENSHOTS=DIR`` keeps screenshots for the docs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from serving import ServeProcess, register_demo_model
from test_console import _csrf, _signed_in, _token_for, sign_in

from chromium import check_page, launch, watch
from scorecast.demo import DATA

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

WAIT_MS = 120_000
NIGHTLY_PARIS = {
    "minute": [30],
    "hour": [2],
    "dayOfMonth": ["*"],
    "month": ["*"],
    "dayOfWeek": ["*"],
    "timezone": "Europe/Paris",
}
DAYS = [date(2026, 3, 28) + timedelta(days=d) for d in range(3)]  # over the DST change


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("console-backfill-files")
    (root / "in").mkdir()
    (root / "out").mkdir()
    for day in DAYS:
        (root / "in" / f"{day}.csv").write_bytes(DATA.read_bytes())
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, files: Path) -> Iterator[ServeProcess]:
    home = tmp_path_factory.mktemp("console-backfill-home")
    process = ServeProcess(
        home,
        f"sqlite:///{home / 'scorecast.db'}",
        "--workers",
        "2",
        env={"SCORECAST_FILE_ROOTS": str(files)},
    ).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def site(server: ServeProcess) -> str:
    return server.endpoint.removesuffix("/api/v2")


@pytest.fixture(scope="module")
def deployment(server: ServeProcess) -> str:
    return register_demo_model(server)


def _definition(server: ServeProcess, deployment: str, files: Path, name: str) -> str:
    with server.http() as http:
        answer = http.post(
            "batchPredictionJobDefinitions/",
            json={
                "name": name,
                "enabled": False,
                "schedule": NIGHTLY_PARIS,
                "deploymentId": deployment,
                "intakeSettings": {
                    "type": "filesystem",
                    "url": files.as_uri() + "/in/{scheduled_time:%Y-%m-%d}.csv",
                },
                "outputSettings": {
                    "type": "filesystem",
                    "url": files.as_uri() + "/out/" + name + "-{scheduled_time:%Y-%m-%d}.csv",
                },
                "passthroughColumns": ["patient_id"],
            },
        )
    assert answer.status_code == 202, answer.text
    definition_id: str = answer.json()["id"]
    return definition_id


def _backfills(server: ServeProcess, definition_id: str) -> list[dict[str, Any]]:
    with server.http() as http:
        answer = http.get(f"batchPredictionJobDefinitions/{definition_id}/backfills/")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["data"]
    return found


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def _page(browser: Any, requests: list[str], errors: list[str], *, script: bool) -> Any:
    """A new page in its own context (CSP bypassed so that axe can be injected)."""
    context = browser.new_context(
        bypass_csp=True, java_script_enabled=script, viewport={"width": 1280, "height": 900}
    )
    return watch(context.new_page(), requests, errors)


def test_backfill_through_the_form_refused_ranges_and_cancel(
    *, server: ServeProcess, site: str, deployment: str, files: Path, browser: Any
) -> None:
    nightly = _definition(server, deployment, files, "nightly")
    requests: list[str] = []
    errors: list[str] = []
    violations: list[str] = []
    assert server.token

    progress_path = _start_without_script(browser, site, server, nightly, (requests, errors))

    # With JavaScript, the progress page follows the backfill until it is completed.
    page = _page(browser, requests, errors, script=True)
    sign_in(page, site, server.token)
    page.goto(site + progress_path)
    page.locator('.backfill-progress[data-finished="true"]').wait_for(timeout=WAIT_MS)
    assert page.locator('.backfill-progress [data-field="status"]').inner_text() == "completed"
    assert page.locator('.backfill-progress [data-field="done"]').inner_text() == "3"
    page.wait_for_load_state()  # the table below is read whole
    jobs = page.locator('a[href^="/jobs/"]')
    assert jobs.count() == len(DAYS)
    assert page.locator("td .status-completed").count() == len(DAYS)
    check_page(page, "backfill", violations)
    [backfill] = _backfills(server, nightly)
    assert backfill["status"] == "completed" and backfill["progress"]["done"] == len(DAYS)
    assert backfill["maxConcurrent"] == 2
    assert sorted(p.name for p in (files / "out").iterdir()) == [
        f"nightly-{day}.csv" for day in DAYS
    ]
    jobs.first.click()
    page.get_by_role("heading", name=re.compile("^Job ")).wait_for()
    assert "source backfill" in page.locator("main").inner_text()

    _refused_ranges(page, site, server, nightly, violations)
    _cancel(page, site, server, _definition(server, deployment, files, "to-cancel"), violations)

    hosts = {urlsplit(url).hostname for url in requests if not url.startswith("data:")}
    assert hosts == {"127.0.0.1"}, hosts
    refused = [e for e in errors if "status of 422" in e]  # the refused forms' answers
    assert [e for e in errors if e not in refused] == []
    assert violations == []


def _start_without_script(
    browser: Any, site: str, server: ServeProcess, nightly: str, logs: tuple[list[str], list[str]]
) -> str:
    """The form without JavaScript; the path of the started backfill's progress page."""
    token = server.token
    assert token
    # Without JavaScript: a range over the limit is refused by the server, next to End; a
    # good one is previewed, then started, and the answer is the backfill's progress page.
    plain = _page(browser, *logs, script=False)
    sign_in(plain, site, token)
    plain.goto(f"{site}/definitions/{nightly}")
    plain.get_by_label("Start (Europe/Paris)").fill("1700-01-01T00:00")
    plain.get_by_label("End (Europe/Paris)").fill("2026-01-01T00:00")
    _refused_submit(plain)
    problem = plain.locator('span[data-error-for="end"]')
    assert "more than 100000 fire times" in problem.inner_text()
    assert plain.get_by_label("End (Europe/Paris)").get_attribute("aria-invalid") == "true"
    assert _backfills(server, nightly) == []
    plain.get_by_label("Start (Europe/Paris)").fill("2026-03-28T00:00")
    plain.get_by_label("End (Europe/Paris)").fill("2026-03-31T00:00")
    plain.get_by_label("Jobs at once").fill("2")
    plain.get_by_role("button", name="Preview").click()
    preview = plain.locator("#backfill-preview")
    preview.filter(has_text="3 fire times in the range: 3 will run.").wait_for()
    # 02:30 does not exist on 29 March in Paris: that fire is at the jump, 03:00 CEST
    assert "First 2026-03-28 02:30 CET, last 2026-03-30 02:30 CEST." in preview.inner_text()
    assert _backfills(server, nightly) == []
    plain.get_by_role("button", name="Start the backfill").click()
    plain.get_by_text("Backfill started.", exact=True).wait_for()
    progress_path = urlsplit(plain.url).path
    assert progress_path.startswith(f"/definitions/{nightly}/backfills/")
    plain.context.close()

    return progress_path


def _refused_ranges(
    page: Any, site: str, server: ServeProcess, definition_id: str, violations: list[str]
) -> None:
    page.goto(f"{site}/definitions/{definition_id}")
    check_page(page, "definition-backfills", violations)
    start, end = page.get_by_label("Start (Europe/Paris)"), page.get_by_label("End (Europe/Paris)")
    start.fill("2026-03-26T00:00")
    end.fill("2026-03-20T00:00")
    problem = page.locator('span[data-error-for="end"]')
    problem.filter(has_text="must be later than start").wait_for(timeout=WAIT_MS)  # as typed
    _refused_submit(page)
    assert problem.inner_text() == "must be later than start"
    assert page.get_by_label("End (Europe/Paris)").get_attribute("aria-invalid") == "true"
    check_page(page, "backfill-refused", violations)
    assert len(_backfills(server, definition_id)) == 1  # only the completed one


def _refused_submit(page: Any) -> None:
    """Submit the form, which the server answers 422, showing it again with the problems."""
    with page.expect_response(lambda r: r.request.method == "POST", timeout=WAIT_MS) as answer:
        page.get_by_role("button", name="Start the backfill").click()
    assert answer.value.status == 422
    page.wait_for_load_state()
    page.get_by_role("alert").filter(has_text="The backfill was not started").wait_for()


def _cancel(
    page: Any, site: str, server: ServeProcess, definition_id: str, violations: list[str]
) -> None:
    # A year of nightly fires, one job at a time (its input files are missing: jobs fail)
    page.goto(f"{site}/definitions/{definition_id}")
    page.get_by_label("Start (Europe/Paris)").fill("2025-01-01T00:00")
    page.get_by_label("End (Europe/Paris)").fill("2026-01-01T00:00")
    page.get_by_role("button", name="Start the backfill").click()
    page.get_by_text("Backfill started.", exact=True).wait_for()
    page.get_by_role("link", name="Back to the definition").click()
    row = page.locator("table.backfills tbody tr")
    row.first.wait_for()
    page.wait_for_load_state()
    assert row.count() == 1
    assert row.locator('[data-field="total"]').inner_text() == "365"
    row.get_by_role(
        "button", name=re.compile("^Cancel the backfill from 2025-01-01 00:00 CET")
    ).click()
    page.get_by_text("Backfill cancelled.", exact=True).wait_for()
    page.locator('.backfill-progress [data-field="status"]', has_text="cancelled").wait_for()
    assert page.get_by_role("button", name="Cancel the backfill").count() == 0
    page.get_by_role("link", name="Every backfill of it").click()
    listed = page.locator("table.backfills tbody tr")
    listed.filter(has_text="cancelled").wait_for()
    assert listed.count() == 1 and listed.get_by_role("button").count() == 0
    check_page(page, "backfills", violations)
    [backfill] = _backfills(server, definition_id)
    assert backfill["status"] == "cancelled", backfill
    assert backfill["progress"]["planned"] == 0 and backfill["progress"]["cancelled"] >= 1


def test_backfill_forms_refuse_without_csrf_or_own_organization(
    server: ServeProcess, site: str, deployment: str, files: Path
) -> None:
    definition_id = _definition(server, deployment, files, "guarded")
    with server.http() as http:
        created = http.post(
            f"batchPredictionJobDefinitions/{definition_id}/backfills/",
            json={"start": "2026-03-26T00:00:00Z", "end": "2026-03-27T00:00:00Z"},
        )
    assert created.status_code == 202, created.text
    backfill = created.json()["id"]
    base = f"/definitions/{definition_id}/backfills"
    form = {"start": "2026-03-28T00:00", "end": "2026-03-29T00:00", "maxConcurrent": "1"}
    posts = [(base, form), (f"{base}/{backfill}/cancel", {})]
    pages = [base, f"{base}/{backfill}", f"{base}/{backfill}/progress", f"{base}/preview"]

    with httpx.Client(base_url=site, follow_redirects=False, timeout=60) as anonymous:
        for path, data in posts:
            assert anonymous.post(path, data=data).status_code == 303, path
        for path in pages:
            assert anonymous.get(path).status_code == 303, path

    assert server.token
    with _signed_in(site, server.token) as own:
        for path, data in posts:
            assert own.post(path, data=data).status_code == 403, path
            assert own.post(path, data={**data, "csrf": "0" * 64}).status_code == 403, path
        for path in pages[:3]:
            assert own.get(path).status_code == 200, path
        preview = own.get(f"{base}/preview", params=form).json()
        assert preview["valid"] is True and preview["total"] == 1, preview

    other = _token_for(server, "console-backfill-other-org", "mallory")
    with _signed_in(site, other) as stranger:
        csrf = _csrf(stranger.get("/").text)
        for path in pages:
            assert stranger.get(path, params=form).status_code == 404, path
        for path, data in posts:
            answer = stranger.post(path, data={**data, "csrf": csrf})
            assert answer.status_code == 404, path
    [kept] = _backfills(server, definition_id)
    assert kept["id"] == backfill and kept["status"] != "cancelled"
