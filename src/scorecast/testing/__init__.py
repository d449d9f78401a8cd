"""For tests and benches: an intake and an output over plain local paths, built on
``scorecast.formats`` (what ``scorecast.engine.run_job`` is run with outside the service).

They are what the benchmarks and the engine's tests run jobs with; the service's connectors (local
uploads, S3, ...) implement the same protocols. The output writes to a temporary file next to
the destination and renames it on ``commit()``, so a half-written file is never presented as
the result.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from scorecast.connectors.base import Intake, Output
from scorecast.domain.csv_settings import CsvSettings, FileFormat
from scorecast.errors import ConnectorError, InvalidInput
from scorecast.formats import (
    Encoder,
    iter_csv_blocks,
    iter_parquet_batches,
    open_encoder,
    read_csv_header,
)
from scorecast.formats.chunks import Chunk, ChunkBytes


class PathIntake(Intake):
    """Reads a CSV or Parquet file in chunks of about ``target_bytes``."""

    def __init__(self, path: Path, fmt: FileFormat = "csv", settings: CsvSettings | None = None):
        self.path = Path(path)
        self.format = fmt
        self.settings = settings or CsvSettings()
        self.location = str(self.path.name)
        self._handle: BinaryIO | None = None

    def _open(self) -> BinaryIO:
        try:
            return self.path.open("rb")
        except OSError as exc:
            raise ConnectorError(f"{self.location}: cannot open: {exc.strerror}") from exc

    def header(self) -> list[str] | None:
        if self.format == "parquet":
            import pyarrow.parquet as pq

            try:
                return list(pq.read_schema(self.path).names)
            except Exception:
                return None
        with self._open() as handle:
            try:
                header = read_csv_header(handle, self.settings)
                return header.names if header else None
            except InvalidInput:
                return None

    def chunks(self, target_bytes: ChunkBytes) -> Iterator[Chunk]:
        self._handle = self._open()
        if self.format == "parquet":
            try:
                yield from iter_parquet_batches(self._handle, target_bytes)
            except InvalidInput as exc:
                raise ConnectorError(f"{self.location}: {exc.message}") from exc
        else:
            yield from iter_csv_blocks(self._handle, self.settings, target_bytes)

    @property
    def bytes_read(self) -> int:
        if self._handle is None or self._handle.closed:
            return 0
        return self._handle.tell()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


class PathOutput(Output):
    """Writes CSV or Parquet to ``path`` atomically (temporary file + rename on commit)."""

    def __init__(self, path: Path, fmt: FileFormat = "csv", settings: CsvSettings | None = None):
        self.path = Path(path)
        self.location = str(self.path.name)
        self._staging = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        self._format = fmt
        self._settings = settings or CsvSettings()
        self._handle: BinaryIO | None = None
        self._encoder: Encoder | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        if self._encoder is None:
            self._handle = self._staging.open("wb")
            self._encoder = open_encoder(self._format, self._settings, self._handle)
        self._encoder.write(batch)

    def commit(self) -> None:
        if self._encoder is None:
            self._handle = self._staging.open("wb")
        else:
            self._encoder.close()
        assert self._handle is not None
        self._handle.close()
        os.replace(self._staging, self.path)

    def abort(self) -> None:
        if self._handle is not None and not self._handle.closed:
            self._handle.close()
        self._staging.unlink(missing_ok=True)

    @property
    def bytes_written(self) -> int:
        return self._encoder.bytes_written if self._encoder is not None else 0
