"""The ``localFile`` output fails a job it cannot encode with a ``ConnectorError``."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from context import make_context, settings_for

from scorecast.connectors import localfile, localfile_files
from scorecast.domain.csv_settings import CsvSettings
from scorecast.errors import ConnectorError

JOB = "c" * 24


@pytest.mark.parametrize(
    "column",
    [pa.array([[1, 2], None]), pa.array([{"a": 1, "b": "x"}, None])],
    ids=["list", "struct"],
)
def test_a_column_csv_cannot_hold_fails_naming_the_download(
    tmp_path: Path, column: pa.Array
) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "root").mkdir()
    ctx = make_context(settings_for(tmp_path / "home", tmp_path / "root"))
    ctx.template = {"job_id": JOB, "attempt": "1"}
    output = localfile.open_output({"type": "localFile"}, ctx, CsvSettings())
    batch = pa.record_batch({"id": pa.array([1, 2]), "nested": column})
    with pytest.raises(ConnectorError, match=r"the job's download: writing failed: ArrowInvalid"):
        output.write(batch)
    output.abort()
    assert localfile_files.committed_result(ctx.app_settings, JOB) is None
    assert localfile_files.attempts_written(ctx.app_settings, JOB) == set()
