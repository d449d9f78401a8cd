"""The worker's sweep removes the staging files crashed attempts left, and nothing else: never a
file of a job's current attempt, never a file scorecast did not stage."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rows import add_job, org_and_user
from sqlalchemy import Engine

from scorecast import home_layout
from scorecast.config import Settings
from scorecast.connectors import localfile_files
from scorecast.connectors.base import OutputToken
from scorecast.connectors.filesystem import staging_prefix
from scorecast.connectors.storage import open_storage
from scorecast.connectors.storage.segments import SegmentWriter
from scorecast.runtime.debris_sweep import sweep


def _staged(folder: Path, target: str, job_id: str, attempt: int) -> Path:
    prefix = staging_prefix(folder / target, OutputToken(job_id, attempt), attempt)
    path = folder / f"{prefix}x1y2z3.part"
    path.write_bytes(b"id,score\n1,0.5\n")
    return path


def _segment(settings: Settings, job_id: str, attempt: int) -> Path:
    key = home_layout.segment_key(home_layout.attempt_segments(job_id, attempt), 0)
    open_storage(settings).put_bytes(key, b"id\n")
    return settings.home / key


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
    # localFile outputs in storage (the home by default): segments per attempt, and a commit
    completed = add_job(engine, org, user, status="COMPLETED", attempt=2, queued=False)
    segments = [
        _segment(settings, running, 2),  # kept: the running attempt's
        _segment(settings, running, 1),  # removed: an earlier attempt of a running job
        _segment(settings, failed, 1),  # removed: a finished job's, never committed
        _segment(settings, completed, 1),  # removed: a dead attempt of a completed job
        _segment(settings, completed, 2),  # kept: the completed job's result
    ]
    written = SegmentWriter(open_storage(settings), home_layout.attempt_segments(completed, 2))
    written.segments = 1
    localfile_files.commit_result(settings, completed, 2, written)
    kept += [segments[0], segments[4], settings.home / home_layout.result_manifest(completed)]
    removed += segments[1:4]
    for path in kept:
        path.touch()

    assert sweep(settings, engine) == len(removed)  # localFile: one per attempt (one segment)
    assert [path for path in kept if not path.exists()] == []
    assert [path for path in removed if path.exists()] == []
    assert sweep(settings, engine) == 0
