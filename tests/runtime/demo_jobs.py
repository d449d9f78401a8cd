"""A demo job run over HTTP against an in-process runtime: register the shipped model, submit
a localFile job, upload the demo patients and wait for the job to end."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from scorecast.demo import DATA, MODEL


def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def score_demo(http: httpx.Client, **job_fields: Any) -> dict[str, Any]:
    """The demo job's final state; ``job_fields`` are added to the job (``numConcurrent=2``)."""
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
            **job_fields,
        },
    ).json()
    assert http.put(job["links"]["csvUpload"], content=DATA.read_bytes()).status_code == 202
    state: dict[str, Any] = {}

    def ended() -> bool:
        state.update(http.get(job["links"]["self"]).json())
        return state["status"] in ("COMPLETED", "ABORTED", "FAILED")

    until(ended)
    return state
