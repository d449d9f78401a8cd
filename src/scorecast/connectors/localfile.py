"""The ``localFile`` adapter: input uploaded through the API, output downloaded through it.

The files' layout and the upload side are in ``connectors.localfile_files``.
The worker passes the job id and attempt number in ``ConnectorContext.template`` (``job_id``,
``attempt``).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast

import pyarrow as pa

from scorecast.config import Settings
from scorecast.connectors import registry
from scorecast.connectors.base import ConnectorContext, Intake, Output
from scorecast.connectors.checks import Checks, Side
from scorecast.connectors.localfile_files import (
    COMPLETE,
    EXPECTED,
    FAILED,
    STALL_SECONDS,
    GrowingFile,
    input_path,
    marker,
    result_path,
    staging_path,
)
from scorecast.domain.csv_settings import CsvSettings
from scorecast.errors import ConnectorError, InvalidInput
from scorecast.formats import Encoder, iter_csv_blocks, open_encoder, read_csv_header
from scorecast.formats.chunks import Chunk, ChunkBytes

# --- the adapter --------------------------------------------------------------------------------


class LocalFileIntake(Intake):
    """Reads the job's uploaded CSV in blocks, following it while the upload still streams in."""

    def __init__(self, settings: Settings, job_id: str, csv_settings: CsvSettings) -> None:
        self.path = input_path(settings, job_id)
        self._complete = marker(settings, job_id, COMPLETE)
        self._failed = marker(settings, job_id, FAILED)
        self._expected = marker(settings, job_id, EXPECTED)
        self.settings = csv_settings
        self.location = "the uploaded file"
        self._raw: GrowingFile | None = None
        self._handle: BinaryIO | None = None

    @property
    def size(self) -> int | None:
        """The input's size: final once the upload is complete, else as announced (or None)."""
        try:
            if self._complete.exists():
                return self.path.stat().st_size
            return int(self._expected.read_text())
        except (OSError, ValueError):
            return None

    def header(self) -> list[str] | None:
        try:
            with self.path.open("rb") as handle:
                found = read_csv_header(handle, self.settings)
        except FileNotFoundError:
            return None
        except InvalidInput:
            return None
        return found.names if found else None

    def chunks(self, target_bytes: ChunkBytes) -> Iterator[Chunk]:
        try:
            self._raw = GrowingFile(
                self.path, self._complete, self._failed, STALL_SECONDS, self.waiting
            )
        except FileNotFoundError as exc:
            raise ConnectorError(
                "the uploaded file is missing: upload the input with PUT csvUpload/"
            ) from exc
        self._handle = cast(BinaryIO, io.BufferedReader(self._raw, buffer_size=1 << 20))
        yield from iter_csv_blocks(self._handle, self.settings, target_bytes)

    @property
    def bytes_read(self) -> int:
        return self._raw.position if self._raw is not None else 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


class LocalFileOutput(Output):
    """Writes CSV to the attempt's staging file, flushed after every batch so that the download
    can stream it while the job runs; ``commit()`` renames it to the job's result."""

    def __init__(self, settings: Settings, job_id: str, attempt: int, csv: CsvSettings) -> None:
        self.location = "the job's download"
        self._final = result_path(settings, job_id)
        self._staging = staging_path(settings, job_id, attempt)
        folder = self._staging.parent
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("attempt-*.csv"):  # earlier attempts' partial output
            if old != self._staging:
                old.unlink(missing_ok=True)
        # the result exists only once an attempt committed it: kept, see committed_before
        self._handle: BinaryIO | None = self._staging.open("wb")
        self._encoder: Encoder = open_encoder("csv", csv, self._handle)

    def committed_before(self) -> str | None:
        """The job's result file exists only once an attempt renamed it into place."""
        try:
            modified = datetime.fromtimestamp(self._final.stat().st_mtime, UTC)
        except FileNotFoundError:
            return None
        return f"an earlier attempt at {modified:%Y-%m-%d %H:%M:%S} UTC"

    def write(self, batch: pa.RecordBatch) -> None:
        if self._handle is None:
            raise ConnectorError("the job's download output is already closed")
        self._encoder.write(batch)
        self._handle.flush()

    def commit(self) -> None:
        if self._handle is None:
            raise ConnectorError("the job's download output is already closed")
        self._encoder.close()
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        self._handle = None
        os.replace(self._staging, self._final)

    def abort(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._staging.unlink(missing_ok=True)

    @property
    def bytes_written(self) -> int:
        return self._encoder.bytes_written


def validate(settings: Mapping[str, Any], side: Side, app: Settings) -> dict[str, Any]:
    """``localFile`` takes ``multipart``/``async`` on the intake side and nothing else
    (``path`` of the output is the client's own and is accepted and ignored)."""
    checks = Checks(settings, ("multipart", "async") if side == "intake" else ("path",))
    checks.boolean("multipart")
    checks.boolean("async")
    return checks.done()


def _job_of(ctx: ConnectorContext) -> tuple[str, int]:
    try:
        return ctx.template["job_id"], int(ctx.template["attempt"])
    except (KeyError, ValueError) as exc:
        raise ConnectorError("localFile needs the job id and attempt from the worker") from exc


def open_intake(
    settings: Mapping[str, Any], ctx: ConnectorContext, csv_settings: CsvSettings
) -> Intake:
    job_id, _ = _job_of(ctx)
    return LocalFileIntake(ctx.settings, job_id, csv_settings)


def open_output(
    settings: Mapping[str, Any], ctx: ConnectorContext, csv_settings: CsvSettings
) -> Output:
    job_id, attempt = _job_of(ctx)
    return LocalFileOutput(ctx.settings, job_id, attempt, csv_settings)


registry.register("localFile", open_intake, open_output, validate)
