"""``JobRun`` on its own, through an in-memory ``JobLedger``: no store, worker or job process.

The ledger records what the run asks of the store; the intake and output are real
``filesystem`` files and the model is the demo's ONNX model, so each test shows what a job run
does for one situation: a clean run, a bad input, an abort, a lost lease, a shutdown, a retry
after an earlier attempt committed, and a deployment that is gone.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import pytest

from scorecast.config import Settings
from scorecast.demo import MODEL
from scorecast.domain.job_claim import Claim
from scorecast.domain.job_spec import JobSpec
from scorecast.domain.model_description import ModelDescription
from scorecast.predictors.registry import describe_model
from scorecast.runtime.job_ledger import JobPlan
from scorecast.runtime.job_run import JobRun
from scorecast.runtime.memory_ledger import MemoryLedger

FEATURES = ("patient_id", "age", "visits_last_year", "medications", "admission_type")


@pytest.fixture(scope="module")
def description() -> ModelDescription:
    return describe_model(MODEL, target="readmitted", target_type="binary", positive_class="yes")


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "files"
    root.mkdir()
    monkeypatch.setenv("SCORECAST_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SCORECAST_FILE_ROOTS", str(root))
    return root


def _plan(description: ModelDescription, source: Path, target: Path) -> JobPlan:
    spec: dict[str, Any] = {
        "deploymentId": "d" * 24,
        "intakeSettings": {"type": "filesystem", "url": source.as_uri()},
        "outputSettings": {"type": "filesystem", "url": target.as_uri()},
        "passthroughColumns": ["patient_id"],
    }
    return JobPlan(
        spec=JobSpec.from_wire({**spec, "numConcurrent": 1}),
        description=description,
        artifact=str(MODEL),
        intake_size=source.stat().st_size,
        scheduled_time=None,
    )


def _write_rows(path: Path, count: int, *, bad_age_at: int | None = None) -> None:
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(FEATURES)
        for index in range(count):
            age: object = "not a number" if index == bad_age_at else 20 + index % 60
            writer.writerow([f"P{index:06d}", age, index % 5, index % 12, "urgent"])


def _keeps_extended_attributes(folder: Path) -> bool:
    probe = folder / ".xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.scorecast.probe", b"1")
    except OSError:
        return False
    finally:
        probe.unlink()
    return True


def _run(
    ledger: MemoryLedger,
    *,
    attempt: int = 1,
    signals: frozenset[str] = frozenset(),
    job_id: str = "j" * 24,
) -> JobRun:
    claim = Claim(job_id=job_id, attempt=attempt, worker_id="w1", retried=attempt > 1)
    run = JobRun(Settings.from_env(), ledger, claim, lambda: set(signals))
    run.execute()
    return run


def test_a_clean_run_commits_the_output_and_finishes_with_its_counts(
    files: Path, description: ModelDescription
) -> None:
    source, target = files / "in.csv", files / "out.csv"
    _write_rows(source, 500)
    ledger = MemoryLedger(_plan(description, source, target))

    _run(ledger)

    assert ledger.failed == []
    [(summary, progress)] = ledger.finished
    assert summary.startswith("500 rows scored, 0 failed")
    assert progress.scored_rows == 500 and progress.percentage == 100.0
    with target.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["patient_id"] for row in rows] == [f"P{i:06d}" for i in range(500)]
    assert all(0.0 <= float(row["readmitted_yes_PREDICTION"]) <= 1.0 for row in rows)


def test_a_missing_column_fails_the_job_and_writes_nothing(
    files: Path, description: ModelDescription
) -> None:
    source, target = files / "in.csv", files / "out.csv"
    source.write_text("patient_id,age\nP1,30\n")
    ledger = MemoryLedger(_plan(description, source, target))

    _run(ledger)

    [(status, message)] = ledger.failed
    assert status == "FAILED" and "visits_last_year" in message
    assert ledger.finished == [] and not target.exists()
    assert [p.name for p in files.iterdir()] == ["in.csv"]


def test_an_abort_from_the_store_ends_the_job_aborted_and_writes_nothing(
    files: Path, description: ModelDescription
) -> None:
    source, target = files / "in.csv", files / "out.csv"
    _write_rows(source, 200)
    ledger = MemoryLedger(_plan(description, source, target), answer=frozenset({"abort"}))

    _run(ledger, signals=frozenset({"abort"}))

    assert ledger.failed == [("ABORTED", "aborted on request")]
    assert ledger.finished == [] and not target.exists()


def test_a_lost_lease_stores_nothing_and_commits_nothing(
    files: Path, description: ModelDescription
) -> None:
    source, target = files / "in.csv", files / "out.csv"
    _write_rows(source, 200)
    ledger = MemoryLedger(_plan(description, source, target), answer=frozenset({"lost"}))

    _run(ledger, signals=frozenset({"lost"}))

    assert ledger.failed == [] and ledger.finished == [] and ledger.released == []
    assert not target.exists()


def test_a_shutdown_puts_the_job_back_in_the_queue(
    files: Path, description: ModelDescription
) -> None:
    source, target = files / "in.csv", files / "out.csv"
    _write_rows(source, 200)
    ledger = MemoryLedger(_plan(description, source, target))

    _run(ledger, signals=frozenset({"shutdown"}))

    assert ledger.released == ["the worker shut down"]
    assert ledger.failed == [] and ledger.finished == [] and not target.exists()


def test_a_retry_after_an_earlier_commit_completes_without_writing_again(
    files: Path, description: ModelDescription
) -> None:
    if not _keeps_extended_attributes(files):
        pytest.skip("this file system keeps no user extended attributes (no commit mark)")
    source, target = files / "in.csv", files / "out.csv"
    _write_rows(source, 100)
    first = MemoryLedger(_plan(description, source, target))
    _run(first)
    committed = target.read_bytes()
    _write_rows(source, 300)  # a second read would give another output
    second = MemoryLedger(_plan(description, source, target))

    _run(second, attempt=2)

    assert target.read_bytes() == committed
    [(summary, _)] = second.finished
    assert "already committed" in summary and "attempt 1" in summary


def test_a_deployment_that_is_gone_fails_the_job_with_the_reason(files: Path) -> None:
    ledger = MemoryLedger(None)

    _run(ledger)

    assert ledger.failed == [("FAILED", "the job's deployment no longer exists")]


def test_a_local_file_job_reads_its_upload_and_commits_its_download(
    files: Path, description: ModelDescription
) -> None:
    """localFile is opened through the connector table like any type (no registration)."""
    from scorecast.connectors import localfile_files

    settings = Settings.from_env()
    job_id = "a1" * 12  # a stored job's id: storage keys take hexadecimal ids only
    source = files / "in.csv"
    _write_rows(source, 120)
    upload = localfile_files.begin_streamed_upload(settings, job_id, source.stat().st_size)
    upload.write(source.read_bytes())
    upload.close()
    localfile_files.end_streamed_upload(settings, job_id)
    spec: dict[str, Any] = {
        "deploymentId": "d" * 24,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
        "passthroughColumns": ["patient_id"],
    }
    plan = JobPlan(
        spec=JobSpec.from_wire({**spec, "numConcurrent": 1}),
        description=description,
        artifact=str(MODEL),
        intake_size=None,
        scheduled_time=None,
    )
    ledger = MemoryLedger(plan)

    _run(ledger, job_id=job_id)

    assert ledger.failed == []
    [(summary, _)] = ledger.finished
    assert summary.startswith("120 rows scored, 0 failed")
    pieces = localfile_files.result_chunks(settings, job_id)
    assert pieces is not None
    rows = list(csv.DictReader(b"".join(pieces).decode().splitlines()))
    assert [row["patient_id"] for row in rows] == [f"P{i:06d}" for i in range(120)]
