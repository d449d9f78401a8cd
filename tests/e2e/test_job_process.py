"""Each job runs in a job process of its own: killing that process (as the kernel's
out-of-memory killer would) ends its job failed (ABORTED on the wire) naming the signal,
publishes nothing, and the service goes on scoring; the service process itself never imports
a model or data library."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from job_streams import wait_for_job
from serving import ServeProcess, patients_csv, register_demo_model, submit_local_job

pytestmark = pytest.mark.e2e

ROWS = 600_000
SMALL_JOBS = 3
HEAVY_LIBRARIES = ("pandas", "sklearn", "onnxruntime", "numpy", "pyarrow", "scipy")
#: a job process reaches the store through its worker (``job_ledger``): it loads neither
STORE_LIBRARIES = ("sqlalchemy", "cryptography")


def _ended(job: dict[str, Any]) -> bool:
    return job["status"] in ("COMPLETED", "ABORTED", "FAILED")


def _libraries_mapped(pid: int, names: tuple[str, ...] = HEAVY_LIBRARIES) -> set[str]:
    """Which of these libraries' files a process has mapped (their native modules)."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {name for name in names if f"/{name}/" in maps}


def test_a_killed_job_process_fails_its_job_and_the_service_goes_on(
    fresh_store: tuple[Path, str], tmp_path: Path
) -> None:
    home, url = fresh_store
    source = patients_csv(tmp_path / "input.csv", copies=ROWS // 500)
    server = ServeProcess(home, url, "--workers", "1").start()
    try:
        assert server.process is not None and server.token
        deployment = register_demo_model(server)
        job = submit_local_job(server, deployment, source)
        # the attempt's output segments (the storage is the home): there once it writes
        staging = home / "results" / job["id"] / "attempt-1"
        with server.http() as http:
            wait_for_job(http, job["id"], lambda j: j["status"] == "RUNNING" and staging.exists())
            running = server.job_processes()
            assert len(running) == 1, running  # no spare is kept while a job runs
            # the model is loaded when the output is written, or soon: the wait ends once it is,
            # with a deadline generous for a loaded machine (importing onnxruntime can be slow)
            deadline = time.monotonic() + 120
            while not {"pandas", "onnxruntime"} <= _libraries_mapped(running[0].pid):
                assert time.monotonic() < deadline, _libraries_mapped(running[0].pid)
                time.sleep(0.05)
            assert _libraries_mapped(running[0].pid, STORE_LIBRARIES) == set()
            os.kill(running[0].pid, signal.SIGKILL)
            failed = wait_for_job(http, job["id"], _ended)
            assert (failed["status"], failed["endReason"]) == ("ABORTED", "failed"), failed
            assert "ended by SIGKILL" in failed["statusDetails"], failed
            assert http.get(f"batchPredictions/{job['id']}/download/").status_code == 404
            assert not (home / "results" / job["id"] / "result.json").exists()

            small = patients_csv(tmp_path / "small.csv")
            for _ in range(SMALL_JOBS):  # each in a new job process, which ends right away
                again = submit_local_job(server, deployment, small)
                done = wait_for_job(http, again["id"], _ended)
                assert done["status"] == "COMPLETED", done
                assert done["scoredRows"] == 500
            # validating file and cloud connector settings loads their modules, not pyarrow
            response = http.post(
                "batchPredictions/",
                json={
                    "deploymentId": deployment,
                    "intakeSettings": {"type": "s3", "url": "s3://bucket/in.csv"},
                    "outputSettings": {"type": "filesystem", "url": "file:///nowhere/out.csv"},
                },
            )
            assert response.status_code == 422, response.text
        # the service process scored jobs, loaded a model and validated connector settings,
        # yet holds no model or data library
        assert _libraries_mapped(server.process.pid) == set()
        assert _libraries_mapped(server.process.pid, STORE_LIBRARIES) == set(STORE_LIBRARIES)
        # and its only children are job processes (no multiprocessing resource tracker)
        children = psutil.Process(server.process.pid).children()
        assert children == server.job_processes(), [c.cmdline() for c in children]
    finally:
        server.stop()
    log = (home / "serve.log").read_text()
    assert "Traceback" not in log
    # the jobs that finished were seen to finish (not settled as a crash after the fact)
    assert "exited unexpectedly" not in log
