"""Parsing one CSV block into a record batch (pure; runs in the scoring workers)."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from scorecast.domain.output_names import ROW_ERROR_COLUMN
from scorecast.formats.chunks import CsvBlock
from scorecast.formats.csv_blocks import QuoteSyntax, parse_header
from scorecast.formats.dialect import csv_dialect
from scorecast.formats.invalid_bytes import INVALID_MARK, MARK_INVALID, replaced

# ``ROW_ERROR_COLUMN`` (named in ``domain.output_columns``): added when some rows could not be
# parsed, absent when every row parsed.


def _utf8_of(block: CsvBlock, *, strict: bool) -> tuple[bytes, bytes | bytearray]:
    """Header and data as UTF-8 bytes; ``strict`` raises on bytes invalid in the codec, else
    they are marked (``MARK_INVALID``).

    The header is always decoded leniently (an undecodable name then simply matches nothing).
    """
    encoding = codecs.lookup(block.settings.encoding).name
    header = block.header.decode(encoding, errors="replace").encode("utf-8")
    if not strict:
        text = block.data.decode(encoding, MARK_INVALID)
        return header, text.encode("utf-8", "surrogatepass")
    if encoding == "utf-8":
        _check_utf8(block.data)  # pyarrow would replace invalid bytes silently
        return header, block.data
    return header, block.data.decode(encoding).encode("utf-8")


def _check_utf8(data: bytes | bytearray) -> None:
    """Raise ``UnicodeDecodeError`` when ``data`` is not valid UTF-8.

    Arrow validates the bytes in place, as one binary value cast to a string: no copy (a
    200 MB record is not decoded into a 200 MB string for nothing), and without holding the
    GIL, which Python's decoder held for 5 ms per 4 MiB chunk, while other threads waited.
    """
    offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
    value = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        value.cast(pa.large_string())
    except pa.ArrowInvalid as exc:
        raise UnicodeDecodeError("utf-8", data, 0, len(data), str(exc)) from None


#: The text of a missing value (pyarrow's default list). Both CSV parse paths read it as null
#: in a numeric column; a text column keeps it (a passthrough column is copied exactly), and
#: the model reads it as missing there (``missing_text_as_null``, in ``engine.scoring``).
MISSING_TEXT: tuple[str, ...] = tuple(pacsv.ConvertOptions().null_values)
_MISSING_TEXT = pa.array(MISSING_TEXT, pa.string())


def missing_text_as_null(strings: pa.Array) -> pa.Array:
    """A CSV text column as the model reads it: the values of ``MISSING_TEXT`` are null."""
    missing = pc.is_in(strings, value_set=_MISSING_TEXT.cast(strings.type))
    if not pc.any(missing).as_py():
        return strings
    return pc.if_else(missing, pa.scalar(None, strings.type), strings)


def decode_csv_block(block: CsvBlock) -> pa.RecordBatch:
    """Parse one block into a record batch (pure; safe to run in a worker process).

    Columns named in ``block.column_types`` get that type, the others are inferred. An empty
    field is null; so is a ``MISSING_TEXT`` value in a numeric column, while a text column
    keeps every other field exactly as written. Both parse paths follow these rules, so a row
    decodes the same whatever else its block holds. Rows that cannot be parsed (wrong number of
    fields, a value that is not of its column's type, bytes invalid in the encoding, a quote
    that does not close before the end of the block) are kept, with nulls in the bad fields and
    a message in ``ROW_ERROR_COLUMN``; a block without bad rows has no such column. A record
    whose quote does not close ends at its line end (the rule of ``QuoteSyntax``): pyarrow would
    read the rest of the block into that one field.
    """
    utf8 = replace(block.settings, encoding="utf-8")
    try:
        header, data = _utf8_of(block, strict=True)
    except UnicodeDecodeError:
        header, data = _utf8_of(block, strict=False)
    else:
        if not QuoteSyntax(utf8).unclosed_lines(data):
            try:
                return _fast_decode(parse_header(header, utf8), data, block)
            except pa.ArrowInvalid:
                pass
    return _careful_decode(parse_header(header, utf8), data, block)


#: pyarrow parses a buffer in blocks of this size (on several threads); None: the whole chunk
#: as one block (see ``_fast_decode``)
PARSE_BLOCK_BYTES: int | None = None
#: pyarrow's largest block (a larger record is read by ``_careful_decode``)
_MAX_PARSE_BLOCK = (1 << 31) - 1


def _fast_decode(names: list[str], data: bytes | bytearray, block: CsvBlock) -> pa.RecordBatch:
    """Parse with pyarrow, the whole chunk as one block.

    One block gives one Arrow chunk per column, which becomes the batch without a copy. In
    1 MiB blocks pyarrow parsed on several threads, but then every column had to be combined
    into one, a second copy of the chunk (4 MiB chunks of the benchmark's input: 17 ms either
    way, and 3 MB more at the job's peak with two chunks in flight); the engine already
    decodes ``numConcurrent`` chunks at once.

    Quote-aware block cutting (``newlines_in_values``) costs about 50 %, so it is switched off
    only when the block holds no quote character at all: pyarrow's quote-unaware cutting can
    silently split a quoted value that contains a newline (found by the property tests).
    """
    settings = block.settings
    quoted = bool(settings.quotechar) and settings.quotechar.encode() in data
    table = pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(
            column_names=names,
            block_size=PARSE_BLOCK_BYTES or min(max(len(data), 1), _MAX_PARSE_BLOCK),
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=settings.delimiter,
            quote_char=settings.quotechar or False,
            newlines_in_values=quoted,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=dict(block.column_types or {}),
            strings_can_be_null=False,  # text is kept; an empty field is made null below
        ),
    )
    if not table.num_rows:
        return _empty(table.schema)
    batch = table.combine_chunks().to_batches()[0]
    columns = [_empty_as_null(column) for column in batch.columns]
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


def _empty_as_null(column: pa.Array) -> pa.Array:
    if not pa.types.is_string(column.type):
        return column
    empty = pc.equal(column, "")
    if not pc.any(empty).as_py():  # the usual column: kept without a copy
        return column
    return pc.if_else(empty, pa.scalar(None, column.type), column)


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)


#: a line with its line end (CRLF, LF or CR), or a last line without one
_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
#: the longest field ``_careful_decode`` reads with the csv module, which holds a field being
#: read at 4 bytes a character (a 200 MB field would take 1 GB); see ``_records``
CAREFUL_FIELD_LIMIT = 16 << 20


class _Lines:
    """The lines of UTF-8 ``data`` as strings, each decoded on its own (never the whole block
    at once), with a look at the next one before it is taken."""

    def __init__(self, data: bytes | bytearray, start: int, stop: int) -> None:
        self._data = data
        self._view = memoryview(data)
        self._found = _LINE.finditer(data, start, stop)
        self._next = next(self._found, None)

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._next
        if line is None:
            self._view.release()
            raise StopIteration
        self._next = next(self._found, None)
        return str(self._view[line.start() : line.end()], "utf-8", "surrogatepass")

    def next_is_long_and_unquoted(self, quote: str) -> bool:
        line = self._next
        if line is None or line.end() - line.start() <= CAREFUL_FIELD_LIMIT:
            return False
        return not quote or self._data.find(quote.encode(), line.start(), line.end()) < 0


#: the row error of a record whose quote does not close (see ``QuoteSyntax``)
UNCLOSED_QUOTE_ERROR = "the row cannot be read as CSV: a quoted field on it does not close"


def _records(
    data: bytes | bytearray, block: CsvBlock
) -> Iterator[tuple[list[str] | None, str | None]]:
    """(fields, why) per CSV record of ``data``: why is None for a record read as it is, and
    fields None for one the csv module refused.

    A record whose quote does not close before the end of ``data`` ends at its line end and
    fails; its fields are read as the csv module reads that line alone.
    """
    start = 0
    for record, line_end in QuoteSyntax(replace(block.settings, encoding="utf-8")).unclosed_lines(
        data
    ):
        yield from _records_between(data, start, record, block)
        line = str(memoryview(data)[record:line_end], "utf-8", "surrogatepass").rstrip("\r\n")
        try:
            fields: list[str] | None = next(csv.reader([line], **csv_dialect(block.settings)))
        except (csv.Error, StopIteration):
            fields = None
        yield fields, UNCLOSED_QUOTE_ERROR
        start = line_end
    yield from _records_between(data, start, len(data), block)


def _records_between(
    data: bytes | bytearray, start: int, stop: int, block: CsvBlock
) -> Iterator[tuple[list[str] | None, str | None]]:
    """The records of ``data[start:stop]``, as ``_records`` gives them.

    A line longer than ``CAREFUL_FIELD_LIMIT`` without a quote character is split at its
    delimiters directly (what the csv module would do, at a quarter of its memory); in a quoted
    one, a field over the limit makes the csv module refuse the record, and the rest of that
    line is skipped, not the block.
    """
    settings = block.settings
    csv.field_size_limit(CAREFUL_FIELD_LIMIT)
    lines = _Lines(data, start, stop)
    reader = csv.reader(lines, **csv_dialect(settings))
    while True:
        if lines.next_is_long_and_unquoted(settings.quotechar):
            yield next(lines).rstrip("\r\n").split(settings.delimiter), None
            continue
        try:
            yield next(reader), None
        except StopIteration:
            return
        except csv.Error as exc:
            yield None, f"the row cannot be read as CSV: {exc}"


def _careful_decode(names: list[str], data: bytes | bytearray, block: CsvBlock) -> pa.RecordBatch:
    """Row-by-row parse of a block pyarrow refused; bad rows are marked, never dropped."""
    width = len(names)
    columns: list[list[str | None]] = [[] for _ in names]
    row_errors: list[str | None] = []
    for number, (fields, unreadable) in enumerate(_records(data, block)):
        if fields is None:
            for column in columns:
                column.append(None)
            row_errors.append(unreadable)
            continue
        if unreadable is None and (not fields or (fields == [""] and width > 1)):
            continue  # blank line
        problem = None
        if any(INVALID_MARK.search(field) for field in fields):
            problem = f"row {number + 1} of the chunk is not valid {block.settings.file_encoding}"
            fields = [replaced(field) for field in fields]  # noqa: PLW2901
        if len(fields) != width:
            problem = f"row has {len(fields)} fields, the header has {width}"
        problem = unreadable or problem
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
            target = _infer_type(missing_text_as_null(strings))
        if not pa.types.is_string(target):  # the null rules of ``_fast_decode``
            strings = missing_text_as_null(strings)
        converted, bad = _convert(strings, target)
        for index in bad:
            if row_errors[index] is None:
                shown = _shown(values[index])
                row_errors[index] = f"column {name!r}: {shown} is not a valid {target}"
        arrays.append(converted)
    arrays.append(pa.array(row_errors, type=pa.string()))
    return pa.RecordBatch.from_arrays(arrays, names=[*names, ROW_ERROR_COLUMN])


def _shown(value: str | None, limit: int = 60) -> str:
    """A value quoted for a row error, cut when long (a row error is not the place for 200 MB)."""
    if value is None or len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value):,} characters)"


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
