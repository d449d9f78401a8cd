"""Files of the layout before segments are moved into today's layout on a server's start
(``connectors/legacy_localfile.py``): a finished job's result reads as before, an uploaded
input is complete, parts keep their numbers, unfinished attempts' staging files go, and a start
that stopped halfway is completed by the next one."""

from __future__ import annotations

import json
from pathlib import Path

from scorecast.config import Settings
from scorecast.connectors import localfile_files
from scorecast.connectors.legacy_localfile import LEGACY_ATTEMPT, upgrade_legacy_files
from scorecast.connectors.storage import open_storage
from scorecast.connectors.storage.segments import SegmentReader
from scorecast.home_layout import input_segments, part_key, result_manifest

JOB = "a" * 24
OTHER = "b" * 24
RESULT = b"id,prediction\n" + b"".join(b"%d,0.5\n" % n for n in range(5000))
INPUT = b"id,age\n" + b"".join(b"%d,40\n" % n for n in range(3000))


def _legacy_home(home: Path) -> None:
    (home / "results" / JOB).mkdir(parents=True)
    (home / "results" / JOB / "result.csv").write_bytes(RESULT)
    (home / "results" / JOB / "attempt-1.csv").write_bytes(b"id,prediction\n1,")
    (home / "results" / OTHER).mkdir(parents=True)
    (home / "results" / OTHER / "attempt-2.csv").write_bytes(b"partial")
    (home / "uploads" / JOB / "parts").mkdir(parents=True)
    (home / "uploads" / JOB / "input.csv").write_bytes(INPUT)
    (home / "uploads" / OTHER / "parts").mkdir(parents=True)
    (home / "uploads" / OTHER / "parts" / "00000.csv").write_bytes(b"id,age\n1,2\n")
    (home / "uploads" / OTHER / "parts" / "00003.csv").write_bytes(b"id,age\n3,4\n")


def _settings(home: Path) -> Settings:
    return Settings(home=home, database_url=f"sqlite:///{home / 'scorecast.db'}")


def _result(settings: Settings, job_id: str) -> bytes:
    chunks = localfile_files.result_chunks(settings, job_id)
    assert chunks is not None
    return b"".join(chunks)


def test_legacy_files_read_as_before_after_the_upgrade(tmp_path: Path) -> None:
    _legacy_home(tmp_path)
    settings = _settings(tmp_path)
    store = open_storage(settings)
    done = upgrade_legacy_files(store)
    assert (done.results, done.inputs, done.parts, done.removed) == (1, 1, 2, 2)
    committed = localfile_files.committed_result(settings, JOB)
    assert committed is not None and committed.attempt == LEGACY_ATTEMPT
    assert committed.size == len(RESULT)
    assert _result(settings, JOB) == RESULT
    assert localfile_files.committed_result(settings, OTHER) is None
    assert localfile_files.attempts_written(settings, OTHER) == set()
    assert localfile_files.input_size(settings, JOB) == len(INPUT)
    reader = SegmentReader(store, input_segments(JOB))
    assert reader.read(1 << 20) == INPUT
    assert store.read_bytes(part_key(OTHER, 3)) == b"id,age\n3,4\n"
    leftovers = [p.name for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".csv"]
    assert leftovers == []
    assert upgrade_legacy_files(store).changed == 0  # a second start finds nothing to do
    assert _result(settings, JOB) == RESULT
    # ... and looks at nothing: this release never writes the old names
    (tmp_path / "results" / OTHER / "attempt-3.csv").write_bytes(b"never looked at")
    assert upgrade_legacy_files(store).changed == 0
    assert (tmp_path / "results" / OTHER / "attempt-3.csv").exists()


def test_an_upgrade_stopped_halfway_is_completed_by_the_next_start(tmp_path: Path) -> None:
    _legacy_home(tmp_path)
    settings = _settings(tmp_path)
    store = open_storage(settings)
    # the first start wrote the commit and stopped before the move
    manifest = {"attempt": 0, "segments": 1, "size": 1, "committedAt": "x"}
    store.put_bytes(result_manifest(JOB), json.dumps(manifest).encode())
    upgrade_legacy_files(store)
    assert _result(settings, JOB) == RESULT
