"""Helpers of the Dask executor's tests: the job run through ``JobRun`` with a ``MemoryLedger``,
its input rows, the local executor's output every cluster run must equal, and the check that a
job's secret never reached the cluster's logs.

The emulators come from ``tests/connectors/emulators.py`` (the connector suite's starters).
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "connectors"))

import emulators  # tests/connectors/emulators.py

from scorecast.config import Settings
from scorecast.demo import MODEL
from scorecast.domain.job_claim import Claim
from scorecast.domain.job_spec import JobSpec
from scorecast.domain.model_description import ModelDescription
from scorecast.predictors.registry import describe_model
from scorecast.runtime.job_ledger import JobPlan
from scorecast.runtime.job_run import JobRun
from scorecast.runtime.memory_ledger import MemoryLedger

__all__ = [
    "CHUNK",
    "JOB",
    "MODEL",
    "Reference",
    "assert_never_logged",
    "emulators",
    "environment",
    "file_settings",
    "local_output",
    "make_reference",
    "model_description",
    "plan",
    "run",
    "write_rows",
]

FEATURES = ("patient_id", "age", "visits_last_year", "medications", "admission_type")
JOB = "d" * 24
CHUNK = 128 << 10  # bytes per part: an input of 1 MB makes 8 or more parts


@contextmanager
def local_cluster(**env: str) -> Iterator[Any]:
    """A real two-process ``distributed.LocalCluster`` whose workers see ``env``."""
    import distributed

    with distributed.LocalCluster(
        processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None, env=env
    ) as running:
        yield running


def model_description() -> ModelDescription:
    """The demo's ONNX model, as a deployment describes it."""
    return describe_model(MODEL, target="readmitted", target_type="binary", positive_class="yes")


def environment(monkeypatch: pytest.MonkeyPatch, home: Path, *roots: Path) -> None:
    """A server home, its file roots, and endpoints on 127.0.0.1 allowed (the emulators)."""
    monkeypatch.setenv("SCORECAST_HOME", str(home))
    monkeypatch.setenv("SCORECAST_FILE_ROOTS", os.pathsep.join(str(root) for root in roots))
    monkeypatch.setenv("SCORECAST_ALLOW_PRIVATE_ENDPOINTS", "1")


def write_rows(path: Path, count: int, *, bad_every: int = 0) -> None:
    """A CSV of ``count`` patients; every ``bad_every``-th has an age the model cannot score."""
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(FEATURES)
        for index in range(count):
            age: object = "old" if bad_every and index % bad_every == 0 else 20 + index % 60
            note = "urgent" if index % 3 else "elective"
            writer.writerow([f"P{index:07d}", age, index % 5, index % 12, note])


def plan(
    description: ModelDescription,
    intake: dict[str, Any],
    output: dict[str, Any],
    *,
    artifact: Path = MODEL,
    abort_on_error: bool = True,
    chunk: int = CHUNK,
    passthrough: tuple[str, ...] = ("patient_id",),
) -> JobPlan:
    spec: dict[str, Any] = {
        "deploymentId": "e" * 24,
        "intakeSettings": intake,
        "outputSettings": output,
        "passthroughColumns": list(passthrough),
        "chunkSize": chunk,
        "abortOnError": abort_on_error,
    }
    return JobPlan(
        spec=JobSpec.from_wire(spec),
        description=description,
        artifact=str(artifact),
        intake_size=None,
        scheduled_time=None,
    )


def run(ledger: MemoryLedger, address: str, signals: frozenset[str] = frozenset()) -> None:
    """The ledger's job run by ``JobRun`` in this process; on the cluster at ``address``, or
    by the local executor when it is empty."""
    claim = Claim(job_id=JOB, attempt=1, worker_id="w1", retried=False)
    settings = replace(Settings.from_env(), dask_address=address)
    JobRun(settings, ledger, claim, lambda: set(signals)).execute()


def file_settings(path: Path) -> dict[str, str]:
    return {"type": "filesystem", "url": path.as_uri()}


def local_output(
    description: ModelDescription,
    files: Path,
    source: Path,
    *,
    chunk: int = CHUNK,
    passthrough: tuple[str, ...] = ("patient_id",),
) -> bytes:
    """What the local executor writes for ``source`` (to ``files/local.csv``)."""
    target = files / "local.csv"
    job = plan(
        description,
        file_settings(source),
        file_settings(target),
        chunk=chunk,
        passthrough=passthrough,
    )
    ledger = MemoryLedger(job)
    run(ledger, "")
    assert ledger.failed == []
    return target.read_bytes()


@dataclass(frozen=True)
class Reference:
    """An input shared by a module's tests and the local executor's output for it."""

    source: Path
    expected: bytes


def make_reference(
    root: Path, description: ModelDescription, rows: int, *, chunk: int = CHUNK
) -> Reference:
    """``root/reference.csv`` of ``rows`` rows and the local executor's output for it."""
    source = root / "reference.csv"
    write_rows(source, rows)
    with pytest.MonkeyPatch.context() as monkeypatch:
        environment(monkeypatch, root / "home", root)
        expected = local_output(description, root, source, chunk=chunk)
    return Reference(source, expected)


def _task_keys(dask_scheduler: Any) -> list[str]:
    return sorted({str(transition[0]) for transition in dask_scheduler.transition_log})


def assert_never_logged(address: str, secret: str, ledger: MemoryLedger) -> None:
    """``secret`` is in no log of the cluster at ``address`` (scheduler, workers), in none of
    the keys of the tasks it ran, and not in the job's log."""
    import distributed

    with distributed.Client(address, set_as_default=False) as client:
        logs = str(client.get_worker_logs()) + str(client.get_scheduler_logs())
        keys = client.run_on_scheduler(_task_keys)
    assert secret not in logs
    assert any(key.startswith(f"scorecast-{JOB}-") for key in keys), keys
    assert not [key for key in keys if secret in key]
    assert secret not in "".join(ledger.logs)
