"""Every output records which job committed it, atomically with the result, so that a retried
attempt of that job can tell its output is already committed (``Output.committed_before``)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa
from backends import Backend, FileBackend, S3Backend, SqlBackend

from scorecast.connectors.base import Output, OutputToken
from scorecast.connectors.registry import open_output
from scorecast.connectors.sql_commits import COMMITS_TABLE
from scorecast.errors import OutputAlreadyCommitted

ROWS = pa.table({"id": pa.array(range(50), pa.int64()), "score": [0.5] * 50, "label": ["x"] * 50})


def _writable(backend: Backend) -> str | None:
    if not backend.writes:
        pytest.skip(f"{backend.name} is intake-only")
    return backend.formats[0]


def _open(backend: Backend, name: str, fmt: str | None, token: OutputToken | None) -> Output:
    return open_output(backend.settings_for(name, fmt, "output"), backend.context(name, token))


def _write(output: Output, table: pa.Table = ROWS) -> None:
    for batch in table.to_batches(max_chunksize=20):
        output.write(batch)


def test_a_retry_finds_its_jobs_commit_and_no_other(backend: Backend) -> None:
    fmt = _writable(backend)
    name = backend.new_name(fmt)
    first = _open(backend, name, fmt, OutputToken("job-a", 1))
    assert first.committed_before() is None  # nothing there yet
    _write(first)
    first.commit()

    retry = _open(backend, name, fmt, OutputToken("job-a", 2))
    earlier = retry.committed_before()
    assert earlier is not None and earlier.startswith("attempt 1 at "), earlier
    retry.abort()
    assert _open(backend, name, fmt, OutputToken("job-b", 2)).committed_before() is None
    assert _open(backend, name, fmt, None).committed_before() is None


def test_a_racing_second_commit_of_one_job_writes_no_row(backend: Backend) -> None:
    """Two attempts of one job both staged their rows (one lost its lease): the second commit
    finds the first's marker in the same transaction and rolls its rows back."""
    if not isinstance(backend, SqlBackend):
        pytest.skip("object and file outputs replace their destination whole")
    name = backend.new_name(None)
    first = _open(backend, name, None, OutputToken("job-race", 1))
    second = _open(backend, name, None, OutputToken("job-race", 2))
    _write(first)
    _write(second)
    first.commit()
    with pytest.raises(OutputAlreadyCommitted, match="attempt 1 at") as caught:
        second.commit()
    second.abort()
    assert caught.value.earlier.startswith("attempt 1 at ")
    assert backend.count(name) == ROWS.num_rows
    engine = backend.engine()
    try:
        with engine.connect() as connection:
            marks = connection.execute(sa.text(f"SELECT job_id, attempt FROM {COMMITS_TABLE}"))
            assert ("job-race", 1) in [tuple(row) for row in marks]
    finally:
        engine.dispose()


def test_a_retry_removes_what_a_dead_attempt_left_staged(backend: Backend) -> None:
    if not isinstance(backend, FileBackend | S3Backend):
        pytest.skip("nothing of a dead attempt outlives it here (a session, unlisted blocks)")
    fmt = _writable(backend)
    name = backend.new_name(fmt)
    dead = _open(backend, name, fmt, OutputToken("job-dead", 1))
    big = pa.table({"id": pa.array(range(400_000), pa.int64()), "label": ["y" * 30] * 400_000})
    _write(dead, big)  # staged (a multipart upload for S3), never committed nor aborted
    before = _debris(backend, name)
    assert before, "the dead attempt staged nothing"
    other = _open(backend, backend.new_name(fmt), fmt, OutputToken("job-other", 1))
    _write(other, big)  # another job's staging is not this job's debris
    retry = _open(backend, name, fmt, OutputToken("job-dead", 2))
    retry.remove_debris()
    assert _debris(backend, name) == []
    assert len(_debris_all(backend)) >= 1  # the other job's staging is still there
    other.abort()
    retry.abort()
    dead.abort()


def _debris(backend: Backend, name: str) -> list[str]:
    return [item for item in _debris_all(backend) if name in item]


def _debris_all(backend: Backend) -> list[str]:
    if isinstance(backend, FileBackend):
        return [p.name for p in Path(backend.root).iterdir() if p.name.startswith(".")]
    return backend.leftovers()
