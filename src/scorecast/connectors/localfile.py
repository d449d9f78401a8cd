"""The ``localFile`` connector: input uploaded through the API, output downloaded through it.

Where the files are and the upload side are in ``connectors.localfile_files``. The API's
service process validates ``localFile`` settings with this module, so it loads pyarrow only
when a job opens its output.
The worker passes the job id and attempt number in ``ConnectorContext.template`` (``job_id``,
``attempt``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from scorecast import home_layout as layout
from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext, Intake, Output
from scorecast.connectors.checks import Checks, Side
from scorecast.connectors.fileio import EncodedOutput
from scorecast.connectors.localfile_files import (
    STALL_SECONDS,
    InputStream,
    attempts_written,
    commit_result,
    committed_result,
    discard_attempt,
    input_size,
    storage,
)
from scorecast.connectors.storage.segments import (
    AvailableBytes,
    PeriodicPublisher,
    SegmentReader,
    SegmentWriter,
)
from scorecast.domain.csv_settings import CsvSettings
from scorecast.errors import ConnectorError, InvalidInput
from scorecast.formats.chunks import Chunk, ChunkBytes
from scorecast.formats.csv_blocks import iter_csv_blocks, read_csv_header

if TYPE_CHECKING:
    import pyarrow as pa

# --- the connector ------------------------------------------------------------------------------


class LocalFileIntake(Intake):
    """Reads the job's uploaded CSV in blocks, following it while the upload still streams in."""

    def __init__(self, app_settings: Settings, job_id: str, csv: CsvSettings) -> None:
        self._app, self._job_id = app_settings, job_id
        self.csv = csv
        self.location = "the uploaded file"
        self._raw: InputStream | None = None
        self._handle: BinaryIO | None = None

    @property
    def size(self) -> int | None:
        """The input's size: final once the upload is complete, else as announced (or None)."""
        return input_size(self._app, self._job_id)

    def header(self) -> list[str] | None:
        reader = SegmentReader(storage(self._app), layout.input_segments(self._job_id))
        with io.BufferedReader(AvailableBytes(reader)) as handle:
            try:
                found = read_csv_header(cast(BinaryIO, handle), self.csv)
            except InvalidInput:
                return None
        return found.names if found else None

    def chunks(self, target_bytes: ChunkBytes) -> Iterator[Chunk]:
        self._raw = InputStream(self._app, self._job_id, STALL_SECONDS, self.waiting)
        self._handle = cast(BinaryIO, io.BufferedReader(self._raw, buffer_size=1 << 20))
        yield from iter_csv_blocks(self._handle, self.csv, target_bytes)

    @property
    def bytes_read(self) -> int:
        return self._raw.position if self._raw is not None else 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


class LocalFileOutput(EncodedOutput):
    """Writes CSV as the attempt's output segments, published as the job goes so that the
    download can stream them while the job runs; ``commit()`` makes them the job's result.
    Errors while encoding or storing are ``ConnectorError`` naming the download
    (``EncodedOutput``)."""

    def __init__(self, app_settings: Settings, job_id: str, attempt: int, csv: CsvSettings) -> None:
        super().__init__("the job's download", "csv", csv)
        self._app, self._job_id, self._attempt = app_settings, job_id, attempt
        discard_attempt(app_settings, job_id, attempt)  # nothing of this attempt can be there yet
        self._sink = SegmentWriter(storage(app_settings), layout.attempt_segments(job_id, attempt))
        self._publisher: PeriodicPublisher | None = None

    def committed_before(self) -> str | None:
        """The job's result exists only once an attempt committed it."""
        committed = committed_result(self._app, self._job_id)
        if committed is None:
            return None
        return f"attempt {committed.attempt} at {committed.committed_at}"

    def remove_debris(self) -> None:
        """Remove the output of earlier attempts that did not commit."""
        committed = committed_result(self._app, self._job_id)
        for attempt in attempts_written(self._app, self._job_id):
            if attempt != self._attempt and (committed is None or attempt != committed.attempt):
                discard_attempt(self._app, self._job_id, attempt)

    def write(self, batch: pa.RecordBatch) -> None:
        super().write(batch)
        if self._publisher is None:  # publishes while the job waits (for its input, say)
            self._publisher = PeriodicPublisher(self._sink)

    def commit(self) -> None:
        self._stop_publishing()
        super().commit()

    def abort(self) -> None:
        self._stop_publishing()
        super().abort()

    def _open_sink(self) -> BinaryIO:
        return cast(BinaryIO, self._sink)

    def _finish(self) -> None:
        commit_result(self._app, self._job_id, self._attempt, self._sink)

    def _discard(self) -> None:
        discard_attempt(self._app, self._job_id, self._attempt)

    def _stop_publishing(self) -> None:
        if self._publisher is not None:
            self._publisher.stop()
            self._publisher = None


def validate(config: Mapping[str, Any], side: Side, app_settings: Settings) -> dict[str, Any]:
    """``localFile`` takes ``multipart``/``async`` on the intake side and nothing else
    (``path`` of the output is the client's own and is accepted and ignored)."""
    checks = Checks(config, ("multipart", "async") if side == "intake" else ("path",))
    checks.boolean("multipart")
    checks.boolean("async")
    return checks.done()


def _job_of(ctx: ConnectorContext) -> tuple[str, int]:
    try:
        return ctx.template["job_id"], int(ctx.template["attempt"])
    except (KeyError, ValueError) as exc:
        raise ConnectorError("localFile needs the job id and attempt from the worker") from exc


def open_intake(intake: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings) -> Intake:
    job_id, _ = _job_of(ctx)
    return LocalFileIntake(ctx.app_settings, job_id, csv)


def open_output(output: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings) -> Output:
    job_id, attempt = _job_of(ctx)
    return LocalFileOutput(ctx.app_settings, job_id, attempt, csv)
