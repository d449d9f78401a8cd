"""Run policies end to end, with a real ``scorecast serve`` on SQLite and on PostgreSQL.

- A scheduled definition whose input is missing fails, is retried once, and is then disabled by
  ``autoDisableAfterFailures`` (waits for the next real minute boundary).
- A run stuck opening its input (a named pipe nobody writes) is aborted "timed out": its job
  process does not answer, so its worker kills it.
- Retention deletes the results of a definition's older runs from the disk; their download is
  410 Gone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving import ServeProcess, register_demo_model

from scorecast.demo import DATA

pytestmark = [pytest.mark.e2e]

EVERY_MINUTE = {
    "minute": ["*"],
    "hour": ["*"],
    "dayOfMonth": ["*"],
    "month": ["*"],
    "dayOfWeek": ["*"],
}
TERMINAL = ("COMPLETED", "ABORTED", "FAILED")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("files")
    (folder / "patients.csv").write_bytes(DATA.read_bytes())
    return folder


@pytest.fixture(scope="module")
def server(store_for_server: tuple[Path, str], files: Path) -> Iterator[ServeProcess]:
    home, url = store_for_server
    env = {"SCORECAST_FILE_ROOTS": str(files), "SCORECAST_RETENTION_SWEEP_SECONDS": "1"}
    process = ServeProcess(home, url, "--workers", "2", env=env).start()
    try:
        assert process.token, process.output()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def deployment(server: ServeProcess) -> str:
    return register_demo_model(server)


def until(
    http: httpx.Client, path: str, condition: Any, server: ServeProcess, timeout: float = 180.0
) -> dict[str, Any]:
    """GET ``path`` until ``condition(body)``; the body. The deadline is generous on purpose."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = http.get(path).json()
        if condition(body):
            return body
        assert time.monotonic() < deadline, f"{path}: {body}\n{server.output()}"
        time.sleep(0.2)


def until_gone(paths: tuple[Path, ...], server: ServeProcess, timeout: float = 180.0) -> None:
    """Wait until none of ``paths`` exists. The deadline is generous on purpose."""
    deadline = time.monotonic() + timeout
    while any(path.exists() for path in paths):
        assert time.monotonic() < deadline, f"{paths} still exist\n{server.output()}"
        time.sleep(0.2)


def define(http: httpx.Client, body: dict[str, Any]) -> str:
    response = http.post("batchPredictionJobDefinitions/", json=body)
    assert response.status_code in (200, 201, 202), response.text
    definition_id: str = response.json()["id"]
    return definition_id


def test_a_failing_definition_is_retried_then_auto_disabled(
    server: ServeProcess, deployment: str, files: Path
) -> None:
    with server.http() as http:
        definition_id = define(
            http,
            {
                "name": "always failing",
                "enabled": True,
                "schedule": EVERY_MINUTE,
                "deploymentId": deployment,
                "intakeSettings": {"type": "filesystem", "url": (files / "gone.csv").as_uri()},
                "outputSettings": {"type": "filesystem", "url": (files / "never.csv").as_uri()},
                "retry": {"maxAttempts": 2, "delaySeconds": 1, "backoffFactor": 1},
                "autoDisableAfterFailures": 1,
            },
        )
        path = f"batchPredictionJobDefinitions/{definition_id}/"
        disabled = until(http, path, lambda d: not d["enabled"], server)
        assert "1 consecutive failed runs" in disabled["disabledReason"]
        assert disabled["nextScheduledRunTime"] is None
        fires = http.get(path + "fires/").json()["data"]
        assert [f["outcome"] for f in fires] == ["failed"]
        first, second = fires[0]["jobIds"]
        assert fires[0]["jobId"] == second
        for job_id in (first, second):
            job = http.get(f"batchPredictions/{job_id}/").json()
            assert job["status"] in ("FAILED", "ABORTED"), job
            assert job["scheduledTime"] == fires[0]["scheduledTime"]
        enabled = http.patch(path, json={"enabled": True}).json()
        assert enabled["enabled"] and enabled["disabledReason"] is None
        http.patch(path, json={"enabled": False})


def test_a_stuck_run_is_aborted_when_it_times_out(
    server: ServeProcess, deployment: str, files: Path
) -> None:
    pipe = files / "stuck.csv"
    if not pipe.exists():
        os.mkfifo(pipe)  # opening it for reading waits for a writer that never comes
    with server.http() as http:
        definition_id = define(
            http,
            {
                "name": "stuck",
                "deploymentId": deployment,
                "intakeSettings": {"type": "filesystem", "url": pipe.as_uri()},
                "outputSettings": {"type": "filesystem", "url": (files / "stuck-out.csv").as_uri()},
                "timeoutSeconds": 2,
            },
        )
        created = http.post(
            "batchPredictions/fromJobDefinition/", json={"jobDefinitionId": definition_id}
        )
        assert created.status_code in (200, 201, 202), created.text
        job_path = f"batchPredictions/{created.json()['id']}/"
        ended = until(http, job_path, lambda j: j["status"] in TERMINAL, server)
        assert ended["status"] == "ABORTED"
        assert ended["statusDetails"].endswith("timed out"), ended["statusDetails"]


def run_local(http: httpx.Client, definition_id: str) -> str:
    created = http.post(
        "batchPredictions/fromJobDefinition/", json={"jobDefinitionId": definition_id}
    ).json()
    assert http.put(created["links"]["csvUpload"], content=DATA.read_bytes()).status_code == 202
    return str(created["id"])


def test_retention_deletes_older_results_from_the_disk(
    server: ServeProcess, deployment: str
) -> None:
    with server.http() as http:
        definition_id = define(
            http,
            {
                "name": "kept briefly",
                "deploymentId": deployment,
                "intakeSettings": {"type": "localFile"},
                "outputSettings": {"type": "localFile"},
                "retention": {"maxJobs": 1, "keepLastSuccessful": False},
            },
        )
        jobs = []
        for _ in range(2):
            job_id = run_local(http, definition_id)
            until(http, f"batchPredictions/{job_id}/", lambda j: j["status"] in TERMINAL, server)
            jobs.append(job_id)
        older, newer = jobs
        results = server.home / "results"
        gone = until(http, f"batchPredictions/{older}/", lambda j: j["resultsDeleted"], server)
        assert gone["status"] == "COMPLETED"
        # the sweep marks the job first and removes its files after that commit
        files_of_older = (results / older, server.home / "uploads" / older)
        until_gone(files_of_older, server)
        assert (results / newer / "result.json").exists()  # the committed result's manifest
        kept = http.get(f"batchPredictions/{newer}/").json()
        assert kept["resultsDeleted"] is False
        download = http.get(f"batchPredictions/{older}/download/")
        assert download.status_code == 410, download.text
        assert "resultsDeleted" in download.json()["errors"]
        assert http.get(f"batchPredictions/{newer}/download/").status_code == 200
