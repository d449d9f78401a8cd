"""Writing record batches as CSV or Parquet to a binary sink."""

from __future__ import annotations

import codecs
import csv
import io
from typing import Any, BinaryIO, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from scorecast.domain.csv_settings import CsvSettings, FileFormat
from scorecast.errors import InvalidInput
from scorecast.formats.dialect import csv_dialect, is_ascii_compatible


class Encoder(Protocol):
    """Writes batches of one schema to a binary sink in a file format."""

    @property
    def bytes_written(self) -> int: ...

    def write(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> None:
        """Flush everything (the Parquet footer); the sink itself is left open."""


class _CountingSink(io.RawIOBase):
    def __init__(self, sink: BinaryIO) -> None:
        self.sink = sink
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self.sink.write(view)
        self.count += len(view)
        return len(view)


class _CsvEncoder:
    def __init__(self, settings: CsvSettings, sink: BinaryIO) -> None:
        self._settings = settings
        self._sink = _CountingSink(sink)
        self._header_done = False
        self._native = settings.quotechar == '"' and len(settings.delimiter) == 1
        self._utf8 = codecs.lookup(settings.encoding).name == "utf-8"
        # incremental: a byte-order mark (utf-16) is written once, not once per batch
        self._codec = codecs.getincrementalencoder(settings.encoding)(errors="replace")

    @property
    def bytes_written(self) -> int:
        return self._sink.count

    def write(self, batch: pa.RecordBatch) -> None:
        if self._native:
            buffer = io.BytesIO()
            pacsv.write_csv(
                batch,
                buffer,
                pacsv.WriteOptions(
                    include_header=not self._header_done, delimiter=self._settings.delimiter
                ),
            )
            payload = buffer.getvalue()
            if not self._utf8:
                payload = self._codec.encode(payload.decode("utf-8"))
        else:
            payload = self._python_csv(batch)
        self._header_done = True
        self._sink.write(payload)

    def _python_csv(self, batch: pa.RecordBatch) -> bytes:
        text = io.StringIO(newline="")
        writer = csv.writer(text, lineterminator="\n", **csv_dialect(self._settings))
        if not self._header_done:
            writer.writerow(batch.schema.names)
        writer.writerows(zip(*(column.to_pylist() for column in batch.columns), strict=True))
        return self._codec.encode(text.getvalue())

    def close(self) -> None:
        self._sink.sink.flush()


class _ParquetEncoder:
    def __init__(self, sink: BinaryIO) -> None:
        self._sink = _CountingSink(sink)
        self._writer: pq.ParquetWriter | None = None

    @property
    def bytes_written(self) -> int:
        return self._sink.count

    def write(self, batch: pa.RecordBatch) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._sink, batch.schema)  # type: ignore[arg-type]
        self._writer.write_batch(batch)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._sink.sink.flush()


def open_encoder(fmt: FileFormat, settings: CsvSettings, sink: BinaryIO) -> Encoder:
    """An encoder writing ``fmt`` to ``sink``.

    CSV honours the delimiter, quote character and encoding (characters the encoding cannot
    represent become ``?``); the header is written with the first batch. A Parquet file is
    complete only after ``close()``. An encoder that received no batch writes nothing.
    """
    if fmt == "csv":
        is_ascii_compatible(settings.encoding)  # validates the codec name
        return _CsvEncoder(settings, sink)
    if fmt == "parquet":
        return _ParquetEncoder(sink)
    raise InvalidInput.at("format", f"unknown format {fmt!r}; use 'csv' or 'parquet'")
