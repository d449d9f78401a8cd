"""The in-process runtime fixture: a job submitted over HTTP runs to completion (both stores)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from scorecast.demo import DATA, MODEL


def test_a_job_runs_on_the_live_runtime(live_runtime: Any) -> None:
    headers = live_runtime.headers()
    with httpx.Client(base_url=live_runtime.url + "/", headers=headers, timeout=60) as http:
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
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = http.get(job["links"]["self"]).json()
            if state["status"] in ("COMPLETED", "ABORTED", "FAILED"):
                break
            time.sleep(0.1)
        assert state["status"] == "COMPLETED", state
        assert state["scoredRows"] == 500
        body = http.get(state["links"]["download"]).text
    assert body.count("\n") == 501
