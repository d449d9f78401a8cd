"""A server killed in the middle of a job and started again on the same machine runs the job
again at once: it does not show the dead attempt's progress until the lease runs out (issue 14).

The lease here is 600 s and the test waits at most 180 s for the job to complete, so it can only
pass if the restarted server ends the dead worker's lease itself."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from job_streams import job_status, wait_for_job
from serving import ServeProcess, patients_csv, register_demo_model, submit_local_job

pytestmark = pytest.mark.e2e

ROWS = 1_000_000  # a few seconds of scoring at least: the kill comes while it runs
LONG_LEASE = "600"


def test_a_restarted_server_reruns_its_killed_job_without_waiting_for_the_lease(
    fresh_store: tuple[Path, str], tmp_path: Path
) -> None:
    home, url = fresh_store
    source = patients_csv(tmp_path / "input.csv", copies=ROWS // 500)
    first = ServeProcess(home, url, "--workers", "1", "--lease-seconds", LONG_LEASE).start()
    try:
        assert first.token
        deployment = register_demo_model(first)
        job = submit_local_job(first, deployment, source)
        with first.http() as http:
            # claimed: RUNNING (its progress is first reported after a second, by which time a
            # quick machine has scored much of it)
            wait_for_job(http, job["id"], lambda j: j["status"] == "RUNNING", timeout=180)
        job_processes = first.job_processes()
    finally:
        first.kill()
    psutil.wait_procs(job_processes, timeout=60)

    second = ServeProcess(home, url, "--workers", "1", "--lease-seconds", LONG_LEASE)
    second.token = first.token
    second.start()
    try:
        with second.http(first.token) as http:
            seen = job_status(http, job["id"])
            # right after the restart: either waiting for a worker or already running again
            assert seen["status"] in ("RUNNING", "COMPLETED"), seen
            done = wait_for_job(
                http,
                job["id"],
                lambda j: j["status"] in ("COMPLETED", "ABORTED", "FAILED"),
                timeout=180,
            )
    finally:
        second.stop()
    assert done["status"] == "COMPLETED", done
    assert done["scoredRows"] == ROWS
    logs = "\n".join(done["logs"])
    assert "the service that ran it stopped" in logs, logs
    assert "attempt 2 starts" in logs, logs
