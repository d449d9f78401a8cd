"""The file layer: CSV and Parquet in, CSV and Parquet out, in bounded memory.

Reading CSV is split in two so that the expensive parse runs in the scoring workers:

- ``iter_csv_blocks`` (in the reader) cuts the byte stream into blocks of whole records, each
  about ``target_bytes``, never holding more than one block plus one read buffer (a single
  record longer than a block is held whole, and nothing more).
- ``decode_csv_block`` (pure, in a worker) parses one block as a whole buffer with pyarrow,
  which is several times faster than pyarrow's streaming reader. A block that pyarrow refuses
  (a ragged row, a value of the wrong type) is parsed again row by row so that only the bad rows
  fail: they are kept in place, with their error in the ``ROW_ERROR_COLUMN`` column.

Encodings: ASCII-compatible codecs (utf-8, latin-1, cp1252, shift_jis, ...) are cut as bytes in
the source encoding and decoded per block; codecs whose newline is not the byte ``\\n``
(utf-16, utf-32) are transcoded to UTF-8 while reading, and their blocks say ``utf-8``.
A UTF-8 byte-order mark is dropped from the header.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, BinaryIO, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from scorecast.connectors.base import CsvBlock, CsvSettings, FileFormat
from scorecast.errors import InvalidInput

__all__ = [
    "ROW_ERROR_COLUMN",
    "CsvHeader",
    "Encoder",
    "decode_csv_block",
    "iter_csv_blocks",
    "iter_parquet_batches",
    "open_encoder",
    "parse_header",
    "read_csv_header",
]

#: Name of the string column ``decode_csv_block`` adds when some rows could not be parsed:
#: null for a good row, the problem for a bad one. Absent when every row parsed.
ROW_ERROR_COLUMN = "__scorecast_row_error__"

_READ_SIZE = 1 << 20  # bytes per read() call while looking for a line end
_UTF8_BOM = codecs.BOM_UTF8


@dataclass(frozen=True)
class CsvHeader:
    """The header line as bytes in the blocks' encoding, and the settings the blocks carry."""

    line: bytes
    settings: CsvSettings

    @property
    def names(self) -> list[str]:
        return parse_header(self.line, self.settings)


def _is_ascii_compatible(encoding: str) -> bool:
    try:
        codec = codecs.lookup(encoding)
    except LookupError as exc:
        raise InvalidInput.at("csvSettings.encoding", f"unknown encoding {encoding!r}") from exc
    probe = "\n\r,;\t|\"'a0"
    return codec.encode(probe)[0] == probe.encode("ascii")


def _utf8_reader(stream: BinaryIO, encoding: str) -> BinaryIO:
    """Wrap a stream in a non-ASCII-compatible codec as a stream of UTF-8 bytes."""
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")  # type: ignore[arg-type]

    class _Reader(io.RawIOBase):
        pending = b""

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            while not self.pending:
                chunk = text.read(_READ_SIZE // 4)
                if not chunk:
                    return 0
                self.pending = chunk.encode("utf-8")
            n = min(len(buffer), len(self.pending))
            buffer[:n] = self.pending[:n]
            self.pending = self.pending[n:]
            return n

    return io.BufferedReader(_Reader(), buffer_size=_READ_SIZE)


def _record_end(data: bytes | bytearray, quote: bytes, stop: int) -> int:
    """Offset just past the last ``\\n`` in ``data[:stop]`` that ends a record, or -1.

    A newline inside a quoted field does not end a record: the number of quote bytes before a
    record-ending newline is even (doubled quotes inside a field count two).
    """
    pos = data.rfind(b"\n", 0, stop)
    if pos < 0:
        return -1
    if not quote:
        return pos + 1
    quotes_before = data.count(quote, 0, pos)
    while True:
        if quotes_before % 2 == 0:
            return pos + 1
        previous = data.rfind(b"\n", 0, pos)
        if previous < 0:
            return -1
        quotes_before -= data.count(quote, previous, pos)
        pos = previous


def _first_record_end(data: bytes | bytearray, quote: bytes, start: int) -> int:
    """Offset just past the first record-ending ``\\n`` at or after ``start``, or -1."""
    pos = data.find(b"\n", start)
    while pos >= 0:
        if not quote or data.count(quote, 0, pos) % 2 == 0:
            return pos + 1
        pos = data.find(b"\n", pos + 1)
    return -1


def _prepare(stream: BinaryIO, settings: CsvSettings) -> tuple[BinaryIO, CsvSettings]:
    if _is_ascii_compatible(settings.encoding):
        return stream, settings
    return _utf8_reader(stream, settings.encoding), replace(settings, encoding="utf-8")


def _read_header(stream: BinaryIO, settings: CsvSettings) -> tuple[bytes, bytes]:
    """Return (header line without its line end, bytes already read past it)."""
    quote = settings.quotechar.encode(settings.encoding) if settings.quotechar else b""
    buffer = bytearray()
    while True:
        end = _first_record_end(buffer, quote, 0)
        if end >= 0:
            break
        piece = stream.read(_READ_SIZE)
        if not piece:
            end = len(buffer)
            break
        buffer += piece
    header = bytes(buffer[:end]).rstrip(b"\r\n")
    if header.startswith(_UTF8_BOM):
        header = header[len(_UTF8_BOM) :]
    return header, bytes(buffer[end:])


def read_csv_header(stream: BinaryIO, settings: CsvSettings) -> CsvHeader | None:
    """Read only the header line of a CSV stream; None for an empty stream."""
    prepared, effective = _prepare(stream, settings)
    header, _ = _read_header(prepared, effective)
    if not header.strip():
        return None
    return CsvHeader(header, effective)


def parse_header(header: bytes, settings: CsvSettings) -> list[str]:
    """Column names of a header line (bytes in ``settings.encoding``)."""
    try:
        text = header.decode(settings.encoding)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the CSV header is not valid {settings.encoding}: {exc.reason} at byte {exc.start}"
        ) from exc
    rows = list(csv.reader([text], **_csv_dialect(settings)))
    return [name.strip() for name in rows[0]] if rows else []


def iter_csv_blocks(
    stream: BinaryIO, settings: CsvSettings, target_bytes: int
) -> Iterator[CsvBlock]:
    """Yield the rows of a CSV stream as blocks of whole records of about ``target_bytes``.

    The header line is read first and carried by every block. An empty stream or a header
    without rows yields nothing (use ``read_csv_header`` to get the header). A last record
    without a trailing newline is yielded as is; CRLF line ends are kept (pyarrow reads them).
    """
    target_bytes = max(int(target_bytes), 1)
    stream, settings = _prepare(stream, settings)
    header, carry = _read_header(stream, settings)
    if not header.strip():
        return
    quote = settings.quotechar.encode(settings.encoding) if settings.quotechar else b""
    buffer = bytearray(carry)
    eof = False
    while True:
        while not eof and len(buffer) < target_bytes:
            piece = stream.read(target_bytes - len(buffer))
            eof = not piece
            buffer += piece
        if not buffer:
            return
        if eof and len(buffer) <= target_bytes:
            cut = len(buffer)
        else:
            cut = _record_end(buffer, quote, target_bytes)
            searched = target_bytes
            while cut < 0:
                # One record longer than a block: it becomes a block of its own.
                cut = _first_record_end(buffer, quote, searched)
                if cut < 0 and eof:
                    cut = len(buffer)
                elif cut < 0:
                    searched = len(buffer)
                    piece = stream.read(_READ_SIZE)
                    eof = not piece
                    buffer += piece
        with memoryview(buffer) as view:
            data = bytes(view[:cut])  # one copy, also for a record of hundreds of MB
        del buffer[:cut]
        if len(data) > 2 or data.strip(b"\r\n"):
            yield CsvBlock(header=header, data=data, settings=settings)


# --- decoding ---------------------------------------------------------------------------------


def _csv_dialect(settings: CsvSettings) -> dict[str, Any]:
    return {
        "delimiter": settings.delimiter,
        "quotechar": settings.quotechar or None,
        "quoting": csv.QUOTE_MINIMAL if settings.quotechar else csv.QUOTE_NONE,
        "doublequote": True,
        "strict": False,
    }


def _utf8_of(block: CsvBlock, errors: str) -> tuple[bytes, bytes]:
    """Header and data as UTF-8 bytes; ``errors="strict"`` raises on bytes invalid in the codec.

    The header is always decoded leniently (an undecodable name then simply matches nothing).
    """
    encoding = codecs.lookup(block.settings.encoding).name
    header = block.header.decode(encoding, errors="replace").encode("utf-8")
    if encoding == "utf-8":
        if errors == "strict":
            block.data.decode("utf-8")  # pyarrow would replace invalid bytes silently
            return header, block.data
        return header, block.data.decode("utf-8", errors).encode("utf-8")
    return header, block.data.decode(encoding, errors).encode("utf-8")


def decode_csv_block(block: CsvBlock) -> pa.RecordBatch:
    """Parse one block into a record batch (pure; safe to run in a worker process).

    Columns named in ``block.column_types`` get that type, the others are inferred. Empty
    fields are null. Rows that cannot be parsed (wrong number of fields, a value that is not of
    its column's type, bytes invalid in the encoding) are kept, with nulls in the bad fields and
    a message in ``ROW_ERROR_COLUMN``; a block without bad rows has no such column.
    """
    utf8 = replace(block.settings, encoding="utf-8")
    try:
        header, data = _utf8_of(block, "strict")
        names = parse_header(header, utf8)
        return _fast_decode(names, data, block)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        header, data = _utf8_of(block, "replace")
        names = parse_header(header, utf8)
        return _careful_decode(names, data, block)


#: pyarrow parses a buffer in blocks of this size on several threads
PARSE_BLOCK_BYTES = 1 << 20


def _fast_decode(names: list[str], data: bytes, block: CsvBlock) -> pa.RecordBatch:
    """Parse with pyarrow on several threads (blocks of ``PARSE_BLOCK_BYTES``).

    Quote-aware block cutting (``newlines_in_values``) costs about 50 %, so it is switched off
    only when the block holds no quote character at all: pyarrow's quote-unaware cutting can
    silently split a quoted value that contains a newline (found by the property tests).
    """
    settings = block.settings
    quoted = bool(settings.quotechar) and settings.quotechar.encode() in data
    table = pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(column_names=names, block_size=PARSE_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(
            delimiter=settings.delimiter,
            quote_char=settings.quotechar or False,
            newlines_in_values=quoted,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict(block.column_types or {}),
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    return table.combine_chunks().to_batches()[0] if table.num_rows else _empty(table.schema)


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)


def _careful_decode(names: list[str], data: bytes, block: CsvBlock) -> pa.RecordBatch:
    """Row-by-row parse of a block pyarrow refused; bad rows are marked, never dropped."""
    text = data.decode("utf-8", errors="replace")
    # a field may be as long as the block (the csv module's default limit is 128 KiB)
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    width = len(names)
    columns: list[list[str | None]] = [[] for _ in names]
    row_errors: list[str | None] = []
    for number, fields in enumerate(
        csv.reader(io.StringIO(text, newline=""), **_csv_dialect(block.settings))
    ):
        if not fields or (fields == [""] and width > 1):
            continue  # blank line
        problem = None
        if "\ufffd" in "".join(fields):
            problem = f"row {number + 1} of the chunk is not valid {block.settings.encoding}"
        if len(fields) != width:
            problem = f"row has {len(fields)} fields, the header has {width}"
        padded = (fields + [""] * width)[:width]
        for column, value in zip(columns, padded, strict=True):
            column.append(value if value != "" else None)
        row_errors.append(problem)

    arrays: list[pa.Array] = []
    types = dict(block.column_types or {})
    for name, values in zip(names, columns, strict=True):
        strings = pa.array(values, type=pa.string())
        target = types.get(name)
        if target is None:
            target = _infer_type(strings)
        converted, bad = _convert(strings, target)
        for index in bad:
            if row_errors[index] is None:
                row_errors[index] = f"column {name!r}: {values[index]!r} is not a valid {target}"
        arrays.append(converted)
    arrays.append(pa.array(row_errors, type=pa.string()))
    return pa.RecordBatch.from_arrays(arrays, names=[*names, ROW_ERROR_COLUMN])


def _infer_type(strings: pa.Array) -> pa.DataType:
    for candidate in (pa.int64(), pa.float64()):
        try:
            pc.cast(strings, candidate)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return candidate
    return pa.string()


def _convert(strings: pa.Array, target: pa.DataType) -> tuple[pa.Array, list[int]]:
    """Cast strings to ``target``; values that do not convert become null and are reported."""
    if pa.types.is_string(target) or pa.types.is_large_string(target):
        return strings.cast(target), []
    try:
        return pc.cast(strings, target), []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values: list[Any] = []
    bad: list[int] = []
    for index, value in enumerate(strings.to_pylist()):
        if value is None:
            values.append(None)
            continue
        try:
            values.append(pc.cast(pa.array([value.strip()]), target)[0].as_py())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values.append(None)
            bad.append(index)
    return pa.array(values, type=target), bad


# --- parquet ----------------------------------------------------------------------------------


def iter_parquet_batches(source: Any, target_bytes: int) -> Iterator[pa.RecordBatch]:
    """Yield a Parquet file's rows in order, in batches of about ``target_bytes`` of decoded data.

    ``source`` is a path, a seekable binary file-like or a pyarrow NativeFile. The row count per
    batch comes from the file's average uncompressed row size.
    """
    try:
        parquet = pq.ParquetFile(source)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(f"not a readable Parquet file: {exc}") from exc
    metadata = parquet.metadata
    rows = max(metadata.num_rows, 1)
    uncompressed = sum(
        metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups)
    )
    row_bytes = max(uncompressed / rows, 1.0)
    batch_rows = max(int(target_bytes / row_bytes), 1)
    yield from parquet.iter_batches(batch_size=batch_rows)


# --- encoding ---------------------------------------------------------------------------------


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
        writer = csv.writer(text, lineterminator="\n", **_csv_dialect(self._settings))
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
        _is_ascii_compatible(settings.encoding)  # validates the codec name
        return _CsvEncoder(settings, sink)
    if fmt == "parquet":
        return _ParquetEncoder(sink)
    raise InvalidInput.at("format", f"unknown format {fmt!r}; use 'csv' or 'parquet'")


def column_types_with(
    names: list[str], declared: Mapping[str, pa.DataType], default: pa.DataType | None
) -> dict[str, pa.DataType]:
    """Column types for ``decode_csv_block``: ``declared`` ones, the rest ``default`` (if any)."""
    types = {name: declared[name] for name in names if name in declared}
    if default is not None:
        types.update({name: default for name in names if name not in declared})
    return types
