"""A demo job run over HTTP against an in-process runtime: register the shipped model, submit
a localFile job, upload the demo patients and wait for the job to end."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from scorecast.demo import DATA, MODEL


def until(condition: Callable[[], bool], timeout: float = 180.0) -> None:
    # generous: a job run over HTTP on a loaded 2-core CI machine can take far longer than here
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def score_demo(http: httpx.Client, **job_fields: Any) -> dict[str, Any]:
    """The demo job's final state; ``job_fields`` are added to the job (``numConcurrent=2``)."""
    return wait_ended(http, submit_demo(http, register_demo(http), **job_fields))


def register_demo(http: httpx.Client) -> str:
    """Register the shipped demo model; the deployment's id."""
    registered = http.post(
        "deployments/fromModelFile/",
        files={"file": ("readmission.onnx", MODEL.read_bytes())},
        data={"targetName": "readmitted", "targetType": "binary", "positiveClass": "yes"},
    )
    assert registered.status_code == 201, registered.text
    return str(registered.json()["id"])


def submit_demo(
    http: httpx.Client, deployment: str, rows: bytes | None = None, **job_fields: Any
) -> dict[str, Any]:
    """A localFile job of ``deployment`` with ``rows`` uploaded (the demo patients by default);
    the job as its creation answered."""
    job: dict[str, Any] = http.post(
        "batchPredictions/",
        json={
            "deploymentId": deployment,
            "intakeSettings": {"type": "localFile"},
            "outputSettings": {"type": "localFile"},
            **job_fields,
        },
    ).json()
    content = DATA.read_bytes() if rows is None else rows
    assert http.put(job["links"]["csvUpload"], content=content).status_code == 202
    return job


def wait_ended(http: httpx.Client, job: dict[str, Any]) -> dict[str, Any]:
    """The job's state once it ended (completed, aborted or failed)."""
    state: dict[str, Any] = {}

    def ended() -> bool:
        state.update(http.get(job["links"]["self"]).json())
        return state["status"] in ("COMPLETED", "ABORTED", "FAILED")

    until(ended)
    return state
