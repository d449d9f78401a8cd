"""Cutting a CSV byte stream into blocks of whole records (the reader's side)."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from scorecast.domain.csv_settings import CsvSettings
from scorecast.errors import InvalidInput
from scorecast.formats.chunks import ChunkBytes, CsvBlock, chunk_bytes_source
from scorecast.formats.dialect import csv_dialect, is_ascii_compatible

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
    if is_ascii_compatible(settings.encoding):
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


def csv_data_start(stream: BinaryIO, settings: CsvSettings) -> tuple[CsvHeader | None, int]:
    """The header of a seekable CSV stream in an ASCII-compatible encoding, and the offset of
    the first byte after it (where the rows begin: a splitter cuts the rest by byte ranges)."""
    stream.seek(0)
    header, rest = _read_header(stream, settings)
    offset = stream.tell() - len(rest)
    return (CsvHeader(header, settings) if header.strip() else None), offset


def parse_header(header: bytes, settings: CsvSettings) -> list[str]:
    """Column names of a header line (bytes in ``settings.encoding``)."""
    try:
        text = header.decode(settings.encoding)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the CSV header is not valid {settings.encoding}: {exc.reason} at byte {exc.start}"
        ) from exc
    rows = list(csv.reader([text], **csv_dialect(settings)))
    return [name.strip() for name in rows[0]] if rows else []


def iter_csv_blocks(
    stream: BinaryIO, settings: CsvSettings, target_bytes: ChunkBytes
) -> Iterator[CsvBlock]:
    """Yield the rows of a CSV stream as blocks of whole records of about ``target_bytes``.

    A callable ``target_bytes`` is asked before each block is cut (a dynamic chunk size).

    The header line is read first and carried by every block. An empty stream or a header
    without rows yields nothing (use ``read_csv_header`` to get the header). A last record
    without a trailing newline is yielded as is; CRLF line ends are kept (pyarrow reads them).
    """
    size_of_next = chunk_bytes_source(target_bytes)
    stream, settings = _prepare(stream, settings)
    header, carry = _read_header(stream, settings)
    if not header.strip():
        return
    quote = settings.quotechar.encode(settings.encoding) if settings.quotechar else b""
    eof = False
    while not (eof and not carry):  # ask a size only while there may be rows left
        target = size_of_next()
        block, eof = _read_block(stream, carry, target, eof)
        if not block:
            return
        if eof and len(block) <= target:
            cut = len(block)
        else:
            cut = _record_end(block, quote, target)
            searched = target
            while cut < 0:
                # One record longer than a block: it becomes a block of its own.
                cut = _first_record_end(block, quote, searched)
                if cut < 0 and eof:
                    cut = len(block)
                elif cut < 0:
                    searched = len(block)
                    piece = stream.read(_READ_SIZE)
                    eof = not piece
                    block += piece
        carry = bytes(block[cut:])
        del block[cut:]
        if len(block) > 2 or block.strip(b"\r\n"):
            yield CsvBlock(header=header, data=block, settings=settings)


def _read_block(stream: BinaryIO, carry: bytes, target: int, eof: bool) -> tuple[bytearray, bool]:
    """``carry`` then the stream's next bytes, up to ``target`` bytes (at least ``carry``);
    and whether the stream has ended.

    The bytes are read straight into the block, which becomes the chunk once cut: no other
    copy of a chunk is made (reading pieces and joining them held the chunk two or three
    times over while it was cut).
    """
    block = bytearray(max(target, len(carry)))
    block[: len(carry)] = carry
    filled = len(carry)
    readinto = getattr(stream, "readinto", None)
    with memoryview(block) as view:
        while not eof and filled < len(block):
            if readinto is not None:
                count = readinto(view[filled:]) or 0
            else:
                piece = stream.read(len(block) - filled)
                count = len(piece)
                view[filled : filled + count] = piece
            eof = count == 0
            filled += count
    del block[filled:]
    return block, eof
