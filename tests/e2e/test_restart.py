"""A server killed with SIGKILL (or stopped with SIGTERM) in the middle of a job: after a restart
the job runs again as a new attempt and completes exactly once; the first attempt's partial
output is never exposed."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import psutil
import pytest
from job_streams import wait_for_job
from serving import ServeProcess, patients_csv, register_demo_model, submit_local_job

pytestmark = pytest.mark.e2e

ROWS = 600_000


#: each way of stopping on one store: a kill on SQLite is also restarted in
#: ``test_restart_after_kill`` (on both stores), and what a stop leaves is the same on either
STOPS = [
    pytest.param("postgresql", "kill", marks=pytest.mark.postgres, id="postgresql-kill"),
    pytest.param("sqlite", "term", id="sqlite-term"),
]


@pytest.mark.parametrize(("fresh_store", "stop"), STOPS, indirect=["fresh_store"])
def test_a_job_interrupted_by_a_stop_completes_once_after_a_restart(
    fresh_store: tuple[Path, str], tmp_path: Path, stop: str
) -> None:
    home, url = fresh_store
    source = patients_csv(tmp_path / "input.csv", copies=ROWS // 500)
    first = ServeProcess(home, url, "--workers", "1", "--lease-seconds", "3").start()
    try:
        assert first.token
        deployment = register_demo_model(first)
        job = submit_local_job(first, deployment, source)
        with first.http() as http:
            staging = home / "results" / job["id"] / "attempt-1"  # its output's segments
            running = wait_for_job(
                http,
                job["id"],
                lambda j: (
                    j["status"] != "INITIALIZING" and staging.is_dir() and any(staging.iterdir())
                ),
                timeout=180,  # generous: a server start and an upload on a loaded machine
            )
            assert running["status"] == "RUNNING", running
        job_processes = first.job_processes()
        assert len(job_processes) == 1, job_processes
    finally:
        if stop == "kill":
            first.kill()  # SIGKILL: no clean-up of any kind
        else:
            # SIGTERM: the job goes back to the queue (a loaded machine may take a while)
            assert first.stop(timeout=180) == 0

    # the orphaned job process sees its service gone at its next call (a progress report, at
    # least once a second) and stops, removing its staged output; generous for a loaded machine
    _, alive = psutil.wait_procs(job_processes, timeout=120)
    assert alive == [], alive
    results = home / "results" / job["id"]
    assert sorted(p.name for p in results.iterdir()) == []  # never published

    second = ServeProcess(home, url, "--workers", "1", "--lease-seconds", "3")
    second.token = first.token
    second.start()
    try:
        with second.http(first.token) as http:
            done = wait_for_job(
                http,
                job["id"],
                lambda j: j["status"] in ("COMPLETED", "ABORTED", "FAILED"),
                timeout=180,  # a restart and 600,000 rows on a loaded machine
            )
            assert done["status"] == "COMPLETED", done
            assert done["scoredRows"] == ROWS and done["failedRows"] == 0
            expected = "attempt 2" if stop == "kill" else "the worker shut down"
            assert any(expected in line for line in done["logs"]), done["logs"]
            body = http.get(done["links"]["download"]).content
    finally:
        second.stop()
    frame = pd.read_csv(io.BytesIO(body))
    assert len(frame) == ROWS and frame["patient_id"].is_unique
    # the committing attempt's segments and the manifest; nothing of the first attempt
    assert sorted(p.name for p in results.iterdir()) == ["attempt-2", "result.json"]
