"""The worker's sweep removes the staging files crashed attempts left, and nothing else: never a
file of a job's current attempt, never a file scorecast did not stage."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rows import add_job, org_and_user
from sqlalchemy import Engine

from scorecast.config import Settings
from scorecast.connectors.base import OutputToken
from scorecast.connectors.filesystem import staging_prefix
from scorecast.runtime.debris_sweep import sweep


def _staged(folder: Path, target: str, job_id: str, attempt: int) -> Path:
    prefix = staging_prefix(folder / target, OutputToken(job_id, attempt), attempt)
    path = folder / f"{prefix}x1y2z3.part"
    path.write_bytes(b"id,score\n1,0.5\n")
    return path


def test_sweep_removes_only_what_no_attempt_will_finish(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    (root / "deep").mkdir(parents=True)
    settings = dataclasses.replace(settings, file_roots=(root,))
    org, user = org_and_user(engine)
    running = add_job(engine, org, user, status="RUNNING", attempt=2, queued=False)
    requeued = add_job(engine, org, user, status="INITIALIZING", attempt=1)
    failed = add_job(engine, org, user, status="FAILED", attempt=1, queued=False)

    kept = [
        _staged(root, "out.csv", running, 2),  # the running attempt's
        _staged(root / "deep", "out.csv", requeued, 1),  # its next attempt removes it
        root / ".out.csv.abc123",  # hidden, but not a scorecast staging name
        root / "out.csv",
    ]
    removed = [
        _staged(root, "out.csv", running, 1),  # an earlier attempt of a running job
        _staged(root / "deep", "other.parquet", failed, 1),  # a finished job's
        _staged(root, "out.csv", "f" * 24, 3),  # a job that no longer exists
    ]
    local = settings.results_dir
    for job_id, name in ((running, "attempt-2.csv"), (running, "attempt-1.csv")):
        (local / job_id).mkdir(parents=True, exist_ok=True)
        (local / job_id / name).write_text("id\n")
    (local / failed).mkdir()
    (local / failed / "attempt-1.csv").write_text("id\n")
    (local / failed / "result.csv").write_text("id\n")
    kept += [local / running / "attempt-2.csv", local / failed / "result.csv"]
    removed += [local / running / "attempt-1.csv", local / failed / "attempt-1.csv"]
    for path in kept:
        path.touch()

    assert sweep(settings, engine) == len(removed)
    assert [path for path in kept if not path.exists()] == []
    assert [path for path in removed if path.exists()] == []
    assert sweep(settings, engine) == 0
