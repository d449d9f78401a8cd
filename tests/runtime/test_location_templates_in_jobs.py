"""Location placeholders on every kind of run, through the API and a real worker (both stores).

An unknown placeholder is a 422 at submit (jobs and definitions) naming it and listing the valid
ones; a job submitted through the API, a manual run of a definition and a scheduled run each
fill every placeholder, times in the file-name-safe default form or a format's layout.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from live_api import (  # noqa: F401 (file_root_settings_fixture is the settings fixture)
    LiveServer,
    file_root_settings_fixture,
)
from scorecast.demo import DATA, MODEL
from scorecast.service.firing import fire_due_definitions
from scorecast.store.db import session_scope

EVERY_MINUTE = {
    "minute": ["*"],
    "hour": ["*"],
    "dayOfMonth": ["*"],
    "month": ["*"],
    "dayOfWeek": ["*"],
}
VALID = "{attempt}, {created_time}, {job_id}, {scheduled_time}"


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    from scorecast.runtime.worker import Worker

    worker = Worker(live_server.settings, live_server.engine, slots=2, lease_seconds=5.0)
    worker.start()
    try:
        with httpx.Client(
            base_url=live_server.url + "/", headers=live_server.headers(), timeout=60
        ) as client:
            yield client
    finally:
        worker.stop()


def _basic(moment: str) -> str:
    """A wire datetime (``...T..:..:...ffffffZ``) in the default placeholder form."""
    parsed = datetime.strptime(moment, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return parsed.strftime("%Y%m%dT%H%M%SZ")


def _ended(api: httpx.Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180  # generous: a job on a loaded 2-core CI machine
    while True:
        job: dict[str, Any] = api.get(f"batchPredictions/{job_id}/").json()
        if job["endReason"] is not None:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def _deployment(api: httpx.Client) -> str:
    registered = api.post(
        "deployments/fromModelFile/",
        files={"file": ("readmission.onnx", MODEL.read_bytes())},
        data={"targetName": "readmitted", "targetType": "binary", "positiveClass": "yes"},
    )
    assert registered.status_code == 201, registered.text
    deployment: str = registered.json()["id"]
    return deployment


def _spec(deployment: str, root: Path, output: str) -> dict[str, Any]:
    return {
        "deploymentId": deployment,
        "intakeSettings": {"type": "filesystem", "url": (root / "in.csv").as_uri()},
        "outputSettings": {"type": "filesystem", "url": f"{root.as_uri()}/{output}"},
        "numConcurrent": 1,
    }


def test_an_unknown_placeholder_is_a_422_naming_it(live_server: LiveServer) -> None:
    root = live_server.settings.file_roots[0]
    with httpx.Client(
        base_url=live_server.url + "/", headers=live_server.headers(), timeout=60
    ) as api:
        deployment = _deployment(api)
        spec = _spec(deployment, root, "scored_{name}.csv")
        for path, body in [
            ("batchPredictions/", spec),
            (
                "batchPredictionJobDefinitions/",
                {"name": "bad", "enabled": False, **spec},
            ),
        ]:
            refused = api.post(path, json=body)
            assert refused.status_code == 422, refused.text
            problem = refused.json()["errors"]["outputSettings"]["url"]
            assert problem == f"unknown placeholder {{name}}; valid: {VALID}", problem
            assert "{name}" in refused.json()["message"]
        assert api.get("batchPredictions/").json()["data"] == []
    assert list(root.iterdir()) == []


@pytest.mark.e2e
def test_every_placeholder_has_a_value_on_every_kind_of_run(
    api: httpx.Client, live_server: LiveServer
) -> None:
    root = live_server.settings.file_roots[0]
    shutil.copy(DATA, root / "in.csv")
    (root / "api").mkdir()
    (root / "def").mkdir()  # a filesystem output's folder must exist (object stores need none)
    deployment = _deployment(api)

    # a job submitted through the API: scheduled_time is its creation time
    created = api.post(
        "batchPredictions/",
        json=_spec(deployment, root, "api/{job_id}-{attempt}-{scheduled_time}.csv"),
    )
    assert created.status_code == 202, created.text
    job = _ended(api, created.json()["id"])
    assert job["endReason"] == "completed", job["statusDetails"]
    expected = root / "api" / f"{job['id']}-1-{_basic(job['created'])}.csv"
    assert [p.name for p in (root / "api").iterdir()] == [expected.name]

    # a definition run by hand, then fired by the scheduler
    output = "def/{scheduled_time:%Y-%m-%d}_{scheduled_time}-{created_time}.csv"
    definition = api.post(
        "batchPredictionJobDefinitions/",
        json={
            "name": "templated",
            "enabled": True,
            "schedule": EVERY_MINUTE,
            **_spec(deployment, root, output),
        },
    )
    assert definition.status_code == 202, definition.text
    manual = api.post(
        "batchPredictions/fromJobDefinition/", json={"jobDefinitionId": definition.json()["id"]}
    ).json()
    manual = _ended(api, manual["id"])
    assert manual["endReason"] == "completed", manual["statusDetails"]
    stamp = _basic(manual["created"])
    assert (root / "def" / f"{manual['created'][:10]}_{stamp}-{stamp}.csv").is_file()

    due = datetime.strptime(
        definition.json()["nextScheduledRunTime"], "%Y-%m-%dT%H:%M:%S.%fZ"
    ).replace(tzinfo=UTC)
    with session_scope(live_server.engine, immediate=True) as session:
        [fire] = fire_due_definitions(session, due)
    assert fire.job_id is not None
    scheduled = _ended(api, fire.job_id)
    assert scheduled["endReason"] == "completed", scheduled["statusDetails"]
    assert scheduled["scheduledTime"] is not None
    name = f"{_basic(scheduled['scheduledTime'])}-{_basic(scheduled['created'])}.csv"
    written = root / "def" / f"{due:%Y-%m-%d}_{name}"
    assert written.is_file(), sorted(str(p) for p in root.rglob("*.csv"))
    assert ":" not in name and "+" not in name
