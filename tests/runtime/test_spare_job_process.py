"""The worker keeps one job process warm while no job runs, lets it go once the service has been
idle for its idle time, and starts one again after the next job (both stores)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from scorecast.demo import DATA, MODEL
from scorecast.runtime.worker import Worker

IDLE_SECONDS = 3.0


def _until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _score_demo(http: httpx.Client) -> dict[str, Any]:
    registered = http.post(
        "deployments/fromModelFile/",
        files={"file": ("readmission.onnx", MODEL.read_bytes())},
        data={"targetName": "readmitted", "targetType": "binary", "positiveClass": "yes"},
    )
    assert registered.status_code == 201, registered.text
    job = http.post(
        "batchPredictions/",
        json={
            "deploymentId": registered.json()["id"],
            "intakeSettings": {"type": "localFile"},
            "outputSettings": {"type": "localFile"},
        },
    ).json()
    assert http.put(job["links"]["csvUpload"], content=DATA.read_bytes()).status_code == 202
    state: dict[str, Any] = {}

    def ended() -> bool:
        state.update(http.get(job["links"]["self"]).json())
        return state["status"] in ("COMPLETED", "ABORTED", "FAILED")

    _until(ended)
    return state


def test_the_spare_job_process_is_let_go_when_idle_and_comes_back_after_a_job(
    live_server: Any,
) -> None:
    worker = Worker(
        live_server.settings, live_server.engine, lease_seconds=5.0, spare_idle_seconds=IDLE_SECONDS
    )
    worker.start()
    try:
        _until(lambda: worker.spare_process is not None and worker.spare_process.alive)
        first = worker.spare_process
        assert first is not None
        _until(lambda: worker.spare_process is None, timeout=IDLE_SECONDS + 30)
        _until(lambda: first.process.exitcode is not None, timeout=15)  # (the worker reaps it)
        assert first.process.exitcode == 0  # it saw its pipe close and went away

        with httpx.Client(
            base_url=live_server.url + "/", headers=live_server.headers(), timeout=60
        ) as http:
            state = _score_demo(http)  # no spare: the job starts its own process
        assert state["status"] == "COMPLETED", state
        assert state["scoredRows"] == 500
        # a job just ended: a spare is kept again for the next one
        _until(lambda: worker.spare_process is not None and worker.spare_process.alive)
    finally:
        worker.stop()
    assert worker.spare_process is None
