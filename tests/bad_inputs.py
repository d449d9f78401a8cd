"""Builders of the bad-input corpus (issue 4), shared by the engine tests (``tests/engine``) and
the end-to-end tests through ``scorecast serve`` (``tests/e2e``).

Each builder takes a good CSV text (a header line, then rows, ``\\n`` line ends, no quoted
fields) and returns the bad variant. Line numbers count the header as line 0, so line ``n`` is
the ``n``-th data row and comes out as output row ``n - 1``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

#: piece size of streamed inputs (bytes)
PIECE = 1 << 20


def _lines(text: str) -> list[str]:
    return text.splitlines()


def _text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def truncated(text: str) -> str:
    """The file cut in the middle of its last row (no line end): that row has too few fields."""
    body = text.rstrip("\n")
    last = body.rfind("\n") + 1
    cut = last + (len(body) - last) // 2
    if "," not in body[last:cut]:  # keep at least two fields, so the row is ragged, not blank
        cut = body.index(",", last) + 2
    return body[:cut]


def ragged(text: str, extra_field_line: int = 5, missing_field_line: int = 9) -> str:
    """One row with a field too many and one with the last field missing."""
    lines = _lines(text)
    lines[extra_field_line] += ",extra"
    lines[missing_field_line] = lines[missing_field_line].rsplit(",", 1)[0]
    return _text(lines)


def wrong_type(text: str, line: int = 3, column: int = 1, value: str = "twelve") -> str:
    """``value`` (not a number) in field ``column`` of ``line``."""
    lines = _lines(text)
    fields = lines[line].split(",")
    fields[column] = value
    lines[line] = ",".join(fields)
    return _text(lines)


def with_bad_rows(text: str, bad_row: str, count: int, seed: int = 1) -> str:
    """``count`` copies of ``bad_row`` shuffled among the rows."""
    lines = _lines(text)
    rows = lines[1:] + [bad_row] * count
    random.Random(seed).shuffle(rows)
    return _text([lines[0], *rows])


def header_only(text: str) -> str:
    return _lines(text)[0] + "\n"


def with_long_line(text: str, size: int, at: int = 3) -> Iterator[bytes]:
    """The rows with a line of ``size`` digits (one field) inserted as line ``at``, streamed in
    pieces of at most ``PIECE`` bytes so that the whole never sits in memory."""
    lines = _lines(text)
    yield _text(lines[:at]).encode()
    piece = b"9" * PIECE
    full, rest = divmod(size, PIECE)
    for _ in range(full):
        yield piece
    yield piece[:rest] + b"\n"
    yield _text(lines[at:]).encode()


def binary(size: int = 2_000_000, seed: int = 7) -> bytes:
    """Random bytes: what an image or archive saved under a ``.csv`` name looks like."""
    return random.Random(seed).randbytes(size)
