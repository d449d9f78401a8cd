"""Cutting a file intake into parts that tasks on other machines read on their own.

- CSV (an ASCII-compatible encoding): byte ranges of about the job's chunk size after the
  header. A range owns every record that *begins* in it: its task starts after the first line
  end at or after ``start - 1`` and reads on to the first line end at or after ``end - 1``, so
  neighbouring ranges meet exactly, with no look at the file at planning time. A line break
  inside a quoted value cannot be told from a record's end without reading from the start: a
  task whose range ends inside a quoted field, read as pyarrow reads it (``QuoteSyntax``: a
  quote opens a field only at the start of a field), says so (``SplitMisaligned``). A range
  that begins inside a quoted value is caught by the one before it, which ends inside it (the
  first range begins at the first record).
- Parquet: consecutive row groups of about the job's chunk size (uncompressed).

``plan_split`` reads only the header (CSV) or the footer (Parquet).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, BinaryIO

from scorecast.errors import JobFailure
from scorecast.formats import csv_data_start
from scorecast.formats.chunks import CsvBlock
from scorecast.formats.csv_blocks import QuoteSyntax

_SCAN = 64 << 10  # bytes read at a time while looking for a line end


class SplitMisaligned(JobFailure):
    """A CSV range boundary fell inside a quoted value (the CSV has quoted line breaks)."""


@dataclass(frozen=True)
class PartRange:
    """One task's share of the input: bytes ``[start, end)`` (CSV) or row groups (Parquet)."""

    index: int
    start: int = 0
    end: int = 0
    row_groups: tuple[int, ...] = ()

    @property
    def nbytes(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Split:
    """How an intake is cut: its parts, and what every task needs to read one."""

    parts: tuple[PartRange, ...]
    names: list[str]
    #: the CSV header line (without its line end) and where the rows begin; Parquet: b"", 0
    header: bytes
    data_start: int
    size: int


def plan_split(stream: BinaryIO, fmt: str, settings: Any, size: int, target: int) -> Split:
    """The parts of a file of ``size`` bytes (see the module docstring); ``settings`` are its
    ``CsvSettings``. Raises ``JobFailure`` for a file that cannot be read in its format."""
    if fmt == "parquet":
        return _parquet_split(stream, size, target)
    header, start = csv_data_start(stream, settings)
    if header is None:
        return Split((), [], b"", start, size)
    bounds = [*range(start, size, max(target, 1)), size]
    parts = tuple(
        PartRange(i, a, b) for i, (a, b) in enumerate(itertools.pairwise(bounds)) if b > a
    )
    return Split(parts, header.names, header.line, start, size)


def _parquet_split(stream: BinaryIO, size: int, target: int) -> Split:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(stream)
    except (pa.ArrowInvalid, OSError) as exc:
        raise JobFailure(f"the input is not a readable Parquet file: {exc}") from exc
    metadata = parquet.metadata
    parts: list[PartRange] = []
    group: list[int] = []
    group_bytes = 0
    for index in range(metadata.num_row_groups):
        group.append(index)
        group_bytes += metadata.row_group(index).total_byte_size
        if group_bytes >= target:
            parts.append(PartRange(len(parts), row_groups=tuple(group)))
            group, group_bytes = [], 0
    if group:
        parts.append(PartRange(len(parts), row_groups=tuple(group)))
    if metadata.num_rows == 0:
        parts = []
    return Split(tuple(parts), list(parquet.schema_arrow.names), b"", 0, size)


def read_csv_range(
    stream: BinaryIO, part: PartRange, split: Split, settings: Any, column_types: Any
) -> CsvBlock | None:
    """The whole records that begin in ``part``'s range, as a block (None when there is none).

    Raises ``SplitMisaligned`` when the block ends inside a quoted field (or holds a quote
    that never closes: a task cannot tell the two apart).
    """
    begin = part.start if part.start <= split.data_start else _after_line_end(stream, part.start)
    stop = split.size if part.end >= split.size else _after_line_end(stream, part.end)
    if stop <= begin:
        return None  # a record longer than the range began before it
    stream.seek(begin)
    data = stream.read(stop - begin)
    if QuoteSyntax(settings).unclosed_lines(data):
        raise SplitMisaligned(
            f"the CSV input has a line break inside a quoted value between bytes {begin} and "
            f"{stop}: it cannot be cut into parts for the Dask cluster; score it without "
            "SCORECAST_DASK_ADDRESS, or without line breaks inside values"
        )
    if not data.strip(b"\r\n"):
        return None
    return CsvBlock(split.header, data, settings, column_types)


def _after_line_end(stream: BinaryIO, position: int) -> int:
    """The offset just past the first ``\\n`` at or after ``position - 1`` (or the end)."""
    offset = position - 1
    stream.seek(offset)
    while piece := stream.read(_SCAN):
        found = piece.find(b"\n")
        if found >= 0:
            return offset + found + 1
        offset += len(piece)
    return offset
