"""Reading an uploaded dataset file for its columns and row count, in bounded memory.

``inspect_in_child`` runs ``inspect_dataset_file`` in a child process, so whatever a hostile
file makes the parsers allocate is given back when the child ends, never kept by the service.
The limits are checked before a parser that scales with them runs: every line's length by a
streaming scan, then the header's column count with the ``csv`` module, and only then pyarrow,
whose memory grows with the columns.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scorecast.child_process import (
    ChildDied,
    child_connection,
    replied,
    reply_to,
    start_child,
)
from scorecast.config import Limits
from scorecast.errors import InvalidInput

_SCAN_BYTES = 1 << 20
_MIN_BLOCK_BYTES = 4 << 20


def inspect_in_child(path: Path, file_format: str, limits: Limits) -> dict[str, Any]:
    """``inspect_dataset_file`` run in a new interpreter; ``ChildDied`` if it ends unanswered."""
    process, connection = start_child(__name__, "_answer_inspection")
    with connection:
        try:
            connection.send((str(path), file_format, limits))
            outcome, value = connection.recv()
        except (EOFError, OSError):
            outcome, value = "died", None
    process.wait()
    if outcome == "died":
        raise ChildDied(f"the dataset reader ended with code {process.returncode}")
    inspected: dict[str, Any] = replied(outcome, value)
    return inspected


def _answer_inspection(descriptor: int) -> None:
    with child_connection(descriptor) as connection:
        path, file_format, limits = connection.recv()
        reply_to(connection, lambda: inspect_dataset_file(path, file_format, limits))
    # End now, without the interpreter's exit handlers: after a parse error pyarrow's readahead
    # thread pool can deadlock in them (seen: the child never ended, its request hung).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def inspect_dataset_file(path: str, file_format: str, limits: Limits) -> dict[str, Any]:
    """``{"names": [...], "rowCount": n}`` of the file; InvalidInput naming the field ``file``
    when it is unreadable or passes a limit."""
    import pyarrow as pa

    kind = "Parquet" if file_format == "parquet" else "CSV"
    try:
        if file_format == "parquet":
            return _inspect_parquet(Path(path), limits)
        _check_lines(Path(path), limits)
        _check_header(Path(path), limits)
        try:
            return _inspect_csv(Path(path), "utf8", limits)
        except (pa.ArrowInvalid, UnicodeDecodeError):
            return _inspect_csv(Path(path), "latin-1", limits)
    except (pa.ArrowException, OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput.at("file", f"is not a readable {kind} file: {exc}") from exc


def longest_line(blocks: Iterable[bytes]) -> tuple[int, int]:
    """(length in bytes, 1-based number) of the longest line of the bytes ``blocks`` make up
    when joined; lines end at ``\\n``, which is not counted. Memory: one block."""
    import numpy as np

    longest, longest_number = 0, 1
    current, number = 0, 1  # the line being read: its length so far, its number
    for block in blocks:
        ends = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 0x0A)
        if not len(ends):
            current += len(block)
        else:
            lengths = np.diff(ends) - 1
            first = current + int(ends[0])
            candidates = [(first, number)]
            if len(lengths):
                at = int(np.argmax(lengths))
                candidates.append((int(lengths[at]), number + 1 + at))
            for length, line in candidates:
                if length > longest:
                    longest, longest_number = length, line
            number += len(ends)
            current = len(block) - int(ends[-1]) - 1
        if current > longest:
            longest, longest_number = current, number
    return longest, longest_number


def _blocks(path: Path) -> Iterable[bytes]:
    with path.open("rb") as handle:
        while block := handle.read(_SCAN_BYTES):
            yield block


def _check_lines(path: Path, limits: Limits) -> None:
    if not limits.line_bytes:
        return
    length, number = longest_line(_blocks(path))
    if length > limits.line_bytes:
        raise InvalidInput.at(
            "file",
            f"line {number} has {length} bytes, more than the limit of {limits.line_bytes}"
            " (SCORECAST_MAX_LINE_BYTES)",
        )


def _check_header(path: Path, limits: Limits) -> None:
    if not limits.dataset_columns:
        return
    # Latin-1 maps every byte to one character, so the count holds for UTF-8 files too; the
    # header is at most one line, bounded by the line limit.
    csv.field_size_limit(max(limits.line_bytes, 1 << 17) if limits.line_bytes else 1 << 30)
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="latin-1", newline="")
        header = next(csv.reader(text), [])
    if len(header) > limits.dataset_columns:
        raise InvalidInput.at(
            "file",
            f"has {len(header)} columns, more than the limit of {limits.dataset_columns}"
            " (SCORECAST_MAX_DATASET_COLUMNS)",
        )


def _inspect_parquet(path: Path, limits: Limits) -> dict[str, Any]:
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(path).metadata
    if limits.dataset_columns and metadata.num_columns > limits.dataset_columns:
        raise InvalidInput.at(
            "file",
            f"has {metadata.num_columns} columns, more than the limit of"
            f" {limits.dataset_columns} (SCORECAST_MAX_DATASET_COLUMNS)",
        )
    return {"names": list(metadata.schema.names), "rowCount": metadata.num_rows}


def _inspect_csv(path: Path, encoding: str, limits: Limits) -> dict[str, Any]:
    """CSV values are not typed here (columns are read as bytes), so a column that mixes
    numbers and text, or text in another encoding than UTF-8, is accepted: the job's
    ``csvSettings`` decide how it is read."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    # a block holds at least one whole line (pyarrow refuses a row across two blocks)
    block_size = max(_MIN_BLOCK_BYTES, limits.line_bytes + 1)
    # one thread: no background readahead, whose threads can deadlock with the reader's
    # destruction at exit after a parse error (seen in the child: it never ended)
    read_options = pa_csv.ReadOptions(block_size=block_size, encoding=encoding, use_threads=False)
    with pa_csv.open_csv(path, read_options=read_options) as first:
        names = list(first.schema.names)
    as_bytes = pa_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.binary()))
    with pa_csv.open_csv(path, read_options=read_options, convert_options=as_bytes) as reader:
        rows = sum(batch.num_rows for batch in reader)
    return {"names": names, "rowCount": rows}
