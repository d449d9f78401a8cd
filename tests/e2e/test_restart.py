"""A server killed with SIGKILL in the middle of a job: after a restart the job runs again as a
new attempt and completes exactly once; the dead attempt's partial output is never exposed."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from serving import ServeProcess, patients_csv, register_demo_model

pytestmark = pytest.mark.e2e

ROWS = 300_000


def wait_for(http: Any, job_id: str, done: Any, timeout: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = http.get(f"batchPredictions/{job_id}/").json()
        if done(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never got there: {job}")


def test_kill_9_mid_job_then_restart_completes_the_job_once(
    store_for_server: tuple[Path, str], tmp_path: Path
) -> None:
    home, url = store_for_server
    source = patients_csv(tmp_path / "input.csv", copies=ROWS // 500)
    first = ServeProcess(home, url, "--workers", "1", "--lease-seconds", "3").start()
    try:
        assert first.token
        deployment = register_demo_model(first)
        with first.http() as http:
            job = http.post(
                "batchPredictions/",
                json={
                    "deploymentId": deployment,
                    "intakeSettings": {"type": "localFile"},
                    "outputSettings": {"type": "localFile"},
                    "passthroughColumns": ["patient_id"],
                    "chunkSize": 8192,
                    "numConcurrent": 1,
                },
            ).json()
            upload = http.put(job["links"]["csvUpload"], content=source.read_bytes())
            assert upload.status_code == 202
            running = wait_for(
                http, job["id"], lambda j: j["status"] != "INITIALIZING" and j["scoredRows"] > 0
            )
            assert running["status"] == "RUNNING", running
    finally:
        first.kill()  # SIGKILL: no clean-up of any kind

    results = home / "results" / job["id"]
    assert [p.name for p in results.iterdir()] == ["attempt-1.csv"]  # partial, never published

    second = ServeProcess(home, url, "--workers", "1", "--lease-seconds", "3")
    second.token = first.token
    second.start()
    try:
        with second.http(first.token) as http:
            done = wait_for(
                http, job["id"], lambda j: j["status"] in ("COMPLETED", "ABORTED", "FAILED")
            )
            assert done["status"] == "COMPLETED", done
            assert done["scoredRows"] == ROWS and done["failedRows"] == 0
            assert any("attempt 2" in line for line in done["logs"]), done["logs"]
            body = http.get(done["links"]["download"]).content
    finally:
        second.stop()
    frame = pd.read_csv(io.BytesIO(body))
    assert len(frame) == ROWS and frame["patient_id"].is_unique
    assert [p.name for p in results.iterdir()] == ["result.csv"]
