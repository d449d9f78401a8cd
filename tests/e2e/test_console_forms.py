"""The console's editing forms in real Chromium against a real ``scorecast serve --demo``.

The schedule editor previews the typed schedule (and its problems) as the user types and
saves it; the definition page shows a month calendar of fires with month navigation and the
jobs' chart; a definition is cloned (disabled) and deleted after confirmation; credentials
and data stores are created and deleted (a secret is never shown again); a model file is
uploaded as a deployment with the API's checks. Every new form refuses a missing or forged
CSRF token and another organization's objects, every new page passes axe-core, and no request
leaves 127.0.0.1. ``SCORECAST_SCREENSHOTS=DIR`` keeps screenshots for the docs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from serving import MODEL, ServeProcess, register_demo_model
from test_console import (
    DEMO_NAME,
    _csrf,
    _signed_in,
    _token_for,
    sign_in,
)

from chromium import check_page, launch, watch

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

WAIT_MS = 120_000
SECRET = "pa55-never-shown-again"
UPLOAD_LIMIT = 64 * 1024  # the server's upload limit: the demo model is far smaller


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    home = tmp_path_factory.mktemp("console-forms-home")
    process = ServeProcess(
        home,
        f"sqlite:///{home / 'scorecast.db'}",
        "--demo",
        env={"SCORECAST_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)},
    ).start()
    try:
        process.wait_for_line(r"^demo: scored file: ")
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def site(server: ServeProcess) -> str:
    return server.endpoint.removesuffix("/api/v2")


@pytest.fixture(scope="module")
def demo_definition(server: ServeProcess) -> str:
    with server.http() as http:
        found = http.get("batchPredictionJobDefinitions/", params={"searchName": DEMO_NAME})
    definition_id: str = found.json()["data"][0]["id"]
    return definition_id


@pytest.fixture
def browser_page(site: str) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A Chromium page (CSP bypassed so that axe can be injected); its requests and errors."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
        requests: list[str] = []
        errors: list[str] = []
        page = watch(context.new_page(), requests, errors)
        try:
            yield page, requests, errors
        finally:
            context.close()
            browser.close()


def _open(page: Any, summary: str) -> None:
    """Unfold the ``<details>`` whose summary reads ``summary`` (folded when the list has items)."""
    details = page.locator("details", has=page.locator("summary", has_text=summary))
    if details.get_attribute("open") is None:
        details.locator("summary").click()


def _api(server: ServeProcess, path: str) -> Any:
    with server.http() as http:
        answer = http.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_schedule_editor_calendar_clone_and_delete(
    *,
    server: ServeProcess,
    site: str,
    demo_definition: str,
    browser_page: tuple[Any, list[str], list[str]],
) -> None:
    page, requests, errors = browser_page
    violations: list[str] = []
    assert server.token
    sign_in(page, site, server.token)
    page.goto(f"{site}/definitions/{demo_definition}")
    _edit_schedule(page, server, demo_definition, violations)
    _browse_calendar(page, violations)
    _clone_and_delete(page, server, demo_definition)
    _no_other_host_and_no_error(requests, errors)
    assert violations == []


def _edit_schedule(
    page: Any, server: ServeProcess, definition_id: str, violations: list[str]
) -> None:
    page.get_by_role("link", name="Edit the schedule").click()
    page.get_by_role("heading", name=f"Schedule of {DEMO_NAME}").wait_for()
    hour = page.get_by_label("Hour", exact=True)
    hour.fill("25")
    problem = page.locator('[data-error-for="hour"]')
    problem.filter(has_text=re.compile(r"\S")).wait_for(timeout=WAIT_MS)
    assert hour.get_attribute("aria-invalid") == "true"
    check_page(page, "schedule-refused", violations)

    page.get_by_label("Minute", exact=True).fill("30")
    hour.fill("2")
    page.get_by_label("Day of week", exact=True).fill("1-5")
    page.get_by_label("Time zone").fill("Europe/Paris")
    # Answers to what was typed on the way may come first (the page keeps only the newest
    # request's): wait for the preview of the whole schedule, in Paris time.
    first_fire = page.locator('[data-preview="fires"] tr').first
    first_fire.filter(has_text=re.compile(r"02:30 CES?T")).wait_for(timeout=WAIT_MS)
    assert page.locator("#schedule-preview").get_attribute("data-state") == "ok"
    assert problem.inner_text() == ""
    fires = page.locator('[data-preview="fires"] tr').all_inner_texts()
    assert len(fires) == 10
    assert all(re.search(r"02:30 CES?T", fire) for fire in fires), fires
    check_page(page, "schedule", violations)
    page.get_by_role("button", name="Save the schedule").click()
    page.get_by_text("Schedule saved.", exact=True).wait_for()
    saved = _api(server, f"batchPredictionJobDefinitions/{definition_id}/")["schedule"]
    assert saved["timezone"] == "Europe/Paris"
    assert (saved["minute"], saved["hour"], saved["dayOfWeek"]) == ([30], [2], [1, 2, 3, 4, 5])


def _browse_calendar(page: Any, violations: list[str]) -> None:
    # Enabled, the calendar marks the weekdays to come as due; the months can be browsed.
    if page.get_by_role("button", name=f"Enable {DEMO_NAME}").count():
        page.get_by_role("button", name=f"Enable {DEMO_NAME}").click()
        page.get_by_text("Enabled.", exact=True).wait_for()
    calendar = page.locator("table.calendar")
    this_month = calendar.locator("caption").inner_text()
    page.get_by_role("link", name="Next month").click()
    calendar.locator("caption").filter(has_not_text=this_month).wait_for()
    due = calendar.locator("td.day-due")
    assert due.count() >= 19  # at least 19 weekdays in any month
    assert calendar.locator("td.day-due .fires").first.inner_text() == "1 due"
    check_page(page, "definition", violations)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    check_page(page, "definition-phone", violations)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="Previous month").click()
    calendar.locator("caption", has_text=this_month).wait_for()
    page.get_by_role("button", name=f"Disable {DEMO_NAME}").click()
    page.get_by_text("Disabled.", exact=True).wait_for()


def _clone_and_delete(page: Any, server: ServeProcess, definition_id: str) -> None:
    with server.http() as http:  # policies other than the defaults, which the copy keeps
        changed = http.patch(
            f"batchPredictionJobDefinitions/{definition_id}/",
            json={"overlapPolicy": "queue", "retry": {"maxAttempts": 3, "delaySeconds": 60}},
        )
    assert changed.status_code == 200, changed.text
    page.get_by_label("Name of the copy").fill("demo copy")
    page.get_by_role("button", name="Clone (disabled)").click()
    page.get_by_text("Cloned (disabled).", exact=True).wait_for()
    copy_id = urlsplit(page.url).path.rsplit("/", 1)[-1]
    assert copy_id != definition_id
    copy = _api(server, f"batchPredictionJobDefinitions/{copy_id}/")
    original = _api(server, f"batchPredictionJobDefinitions/{definition_id}/")
    assert copy["name"] == "demo copy" and copy["enabled"] is False
    assert copy["schedule"] == original["schedule"]
    assert copy["batchPredictionJob"] == original["batchPredictionJob"]
    policies = ("overlapPolicy", "catchUp", "retry", "retention")
    assert {key: copy[key] for key in policies} == {key: original[key] for key in policies}
    assert copy["overlapPolicy"] == "queue" and copy["retry"]["maxAttempts"] == 3

    page.get_by_label(re.compile("^Delete “demo copy”")).check()
    page.get_by_role("button", name="Delete definition").click()
    page.get_by_text("Definition deleted.", exact=True).wait_for()
    with server.http() as http:
        assert http.get(f"batchPredictionJobDefinitions/{copy_id}/").status_code == 404


def test_credentials_data_stores_and_model_upload(
    *,
    server: ServeProcess,
    site: str,
    browser_page: tuple[Any, list[str], list[str]],
) -> None:
    page, requests, errors = browser_page
    violations: list[str] = []
    assert server.token
    sign_in(page, site, server.token)
    _credential_forms(page, site, server, violations)
    _data_store_forms(page, site, server, violations)
    _model_upload(page, site, server, violations)
    refused = [e for e in errors if "status of 422" in e]
    # refused forms are answered 422 (Chromium logs each): the credential without a password,
    # the file that is no model, the upload over the limit
    assert len(refused) == 3, refused
    _no_other_host_and_no_error(requests, [e for e in errors if e not in refused])
    assert violations == []


def _credential_forms(page: Any, site: str, server: ServeProcess, violations: list[str]) -> None:
    page.goto(f"{site}/credentials")
    check_page(page, "credentials", violations)
    page.get_by_label("Name").fill("warehouse login")
    page.get_by_label("Type").select_option("basic")
    assert page.get_by_label("Secret access key").is_hidden()  # the other types' fields
    page.get_by_label("User").fill("scorer")
    page.get_by_label("Password").fill(SECRET)
    page.get_by_role("button", name="Create credential").click()
    page.get_by_text(re.compile("^Credential created")).wait_for()
    assert SECRET not in page.content()
    stored = _api(server, "credentials/")["data"]
    created = next(c for c in stored if c["name"] == "warehouse login")
    assert created["credentialType"] == "basic" and SECRET not in str(stored)
    page.get_by_role("button", name="Delete credential warehouse login").click()
    page.get_by_text("Credential deleted.", exact=True).wait_for()
    assert all(c["name"] != "warehouse login" for c in _api(server, "credentials/")["data"])

    page.get_by_label("Name").fill("no type's fields")
    page.get_by_label("Type").select_option("azure")
    page.get_by_role("button", name="Create credential").click()
    page.get_by_role("alert").filter(has_text="azureConnectionString").wait_for()


def _data_store_forms(page: Any, site: str, server: ServeProcess, violations: list[str]) -> None:
    page.goto(f"{site}/data-stores")
    page.get_by_label("Name").fill("sales db")
    page.get_by_label("JDBC address").fill("jdbc:postgresql://db.example.com:5432/sales")
    page.get_by_role("button", name="Create data store").click()
    page.get_by_text("Data store created.", exact=True).wait_for()
    check_page(page, "data-stores", violations)
    page.get_by_role("button", name="Delete data store sales db").click()
    page.get_by_text("Data store deleted.", exact=True).wait_for()
    assert _api(server, "externalDataStores/")["totalCount"] == 0


def _model_upload(page: Any, site: str, server: ServeProcess, violations: list[str]) -> None:
    page.goto(f"{site}/deployments")
    _open(page, "Upload a model")
    check_page(page, "deployments", violations)
    page.get_by_label(re.compile("^Model file")).set_input_files(str(MODEL))
    page.get_by_label("Target column").fill("readmitted")
    page.get_by_label("Target type").select_option("binary")
    page.get_by_label(re.compile("^Positive class")).fill("yes")
    page.get_by_label("Label (optional)").fill("uploaded in the console")
    page.get_by_role("button", name="Upload and register").click()
    page.get_by_text("Model registered.", exact=True).wait_for(timeout=WAIT_MS)
    page.get_by_role("heading", name="uploaded in the console").wait_for()
    labels = [d["label"] for d in _api(server, "deployments/")["data"]]
    assert "uploaded in the console" in labels

    page.goto(f"{site}/deployments")  # a file that is no model: the API's check refuses it
    _open(page, "Upload a model")
    page.get_by_label(re.compile("^Model file")).set_input_files(
        files=[{"name": "model.onnx", "mimeType": "application/octet-stream", "buffer": b"no"}]
    )
    page.get_by_label("Target column").fill("readmitted")
    page.get_by_role("button", name="Upload and register").click()
    page.get_by_role("alert").wait_for(timeout=WAIT_MS)
    assert urlsplit(page.url).path == "/deployments/upload"  # the form again, as typed
    assert page.get_by_label("Target column").input_value() == "readmitted"

    _open(page, "Upload a model")  # over the API's upload limit: refused, naming the setting
    page.get_by_label(re.compile("^Model file")).set_input_files(
        files=[
            {
                "name": "big.onnx",
                "mimeType": "application/octet-stream",
                "buffer": bytes(UPLOAD_LIMIT + 1),
            }
        ]
    )
    page.get_by_label("Target column").fill("readmitted")
    page.get_by_role("button", name="Upload and register").click()
    page.get_by_text(re.compile("SCORECAST_MAX_UPLOAD_BYTES")).wait_for(timeout=WAIT_MS)
    labels = [d["label"] for d in _api(server, "deployments/")["data"]]
    assert "big" not in labels


def _no_other_host_and_no_error(requests: list[str], errors: list[str]) -> None:
    hosts = {urlsplit(url).hostname for url in requests if not url.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, hosts
    assert errors == []


def test_new_forms_refuse_without_csrf_or_own_organization(
    server: ServeProcess, site: str, demo_definition: str
) -> None:
    deployment = register_demo_model(server)
    with server.http() as http:
        credential = http.post(
            "credentials/",
            json={"name": "kept login", "credentialType": "basic", "user": "u", "password": SECRET},
        ).json()["credentialId"]
        store = http.post(
            "externalDataStores/",
            json={
                "type": "jdbc",
                "canonicalName": "kept store",
                "params": {"jdbcUrl": "jdbc:postgresql://db.example.com/a"},
            },
        ).json()["id"]
    schedule_form = {"minute": "0", "hour": "1", "dayOfMonth": "*", "month": "*"}
    schedule_form |= {"dayOfWeek": "*"}
    posts: list[tuple[str, dict[str, str]]] = [
        (f"/definitions/{demo_definition}/schedule", schedule_form),
        (f"/definitions/{demo_definition}/clone", {"name": "stolen copy"}),
        (f"/credentials/{credential}/delete", {}),
        ("/credentials", {"name": "x", "credentialType": "basic", "user": "u", "password": "p"}),
        (f"/data-stores/{store}/delete", {}),
        ("/data-stores", {"canonicalName": "x", "jdbcUrl": "jdbc:postgresql://db.example.com/b"}),
    ]
    before = _state(server, demo_definition)

    with httpx.Client(base_url=site, follow_redirects=False, timeout=60) as anonymous:
        for path, _ in posts:
            assert anonymous.post(path, data={"csrf": "x"}).status_code == 303, path
        assert anonymous.get("/schedules/preview?minute=0").status_code == 303
        assert anonymous.get(f"/definitions/{demo_definition}/schedule").status_code == 303

    assert server.token
    with _signed_in(site, server.token) as own:
        for path, data in posts:
            assert own.post(path, data=data).status_code == 403, path
            assert own.post(path, data={**data, "csrf": "0" * 64}).status_code == 403, path
        bad_day = own.get("/jobs", params={"created": "yesterday"})
        assert bad_day.status_code == 422 and "not a date" in bad_day.text
        newest = _api(server, "batchPredictions/?limit=1")["data"][0]
        day = newest["created"][:10]
        assert newest["id"] in own.get("/jobs", params={"created": day}).text
        assert "No job matches" in own.get("/jobs", params={"created": "2001-01-01"}).text
        csrf = _csrf(own.get("/").text)
        unconfirmed = own.post(f"/definitions/{demo_definition}/delete", data={"csrf": csrf})
        assert unconfirmed.status_code == 303 and "error=" in unconfirmed.headers["location"]
        upload = own.post(
            "/deployments/upload",
            data={"targetName": "readmitted", "targetType": "binary"},
            files={"file": ("m.onnx", MODEL.read_bytes(), "application/octet-stream")},
        )
        assert upload.status_code == 403
    assert _state(server, demo_definition) == before

    other = _token_for(server, "console-forms-other-org", "mallory")
    with _signed_in(site, other) as stranger:
        csrf = _csrf(stranger.get("/").text)
        assert stranger.get(f"/definitions/{demo_definition}/schedule").status_code == 404
        for path, data in posts[:3] + posts[4:5]:
            answer = stranger.post(path, data={**data, "csrf": csrf})
            assert answer.status_code == 303 and "error=" in answer.headers["location"], path
        assert store not in stranger.get("/data-stores").text
        assert credential not in stranger.get("/credentials").text
        assert deployment not in stranger.get("/deployments").text
    assert _state(server, demo_definition) == before


def _state(server: ServeProcess, definition_id: str) -> tuple[Any, ...]:
    definition = _api(server, f"batchPredictionJobDefinitions/{definition_id}/")
    return (
        definition["schedule"],
        _api(server, "batchPredictionJobDefinitions/")["totalCount"],
        sorted(c["credentialId"] for c in _api(server, "credentials/")["data"]),
        sorted(s["id"] for s in _api(server, "externalDataStores/")["data"]),
        _api(server, "deployments/")["totalCount"],
    )
