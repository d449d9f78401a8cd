"""Cutting a CSV byte stream into blocks of whole records (the reader's side)."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from scorecast.domain.csv_settings import CsvSettings
from scorecast.errors import InvalidInput
from scorecast.formats.chunks import ChunkBytes, CsvBlock, chunk_bytes_source
from scorecast.formats.dialect import csv_dialect, is_ascii_compatible
from scorecast.formats.invalid_bytes import MARK_INVALID

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
    """Wrap a stream in a non-ASCII-compatible codec as a stream of UTF-8 bytes; bytes invalid
    in the codec are marked (``invalid_bytes``), and fail their rows when decoded."""
    text = io.TextIOWrapper(  # type: ignore[type-var]
        stream, encoding=encoding, errors=MARK_INVALID, newline=""
    )

    class _Reader(io.RawIOBase):
        pending = b""

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            while not self.pending:
                chunk = text.read(_READ_SIZE // 4)
                if not chunk:
                    return 0
                self.pending = chunk.encode("utf-8", "surrogatepass")
            n = min(len(buffer), len(self.pending))
            buffer[:n] = self.pending[:n]
            self.pending = self.pending[n:]
            return n

    return io.BufferedReader(_Reader(), buffer_size=_READ_SIZE)


#: a quoted field still open this many bytes past its first line end is taken never to close
#: (our choice, see ``QuoteSyntax``; a quoted field over 16 MiB already fails its row when the
#: decoder reads its chunk line by line)
UNCLOSED_QUOTE_SPAN = 16 << 20


class QuoteSyntax:
    """Where records end in CSV bytes, read as pyarrow and the csv module read them.

    A quote character opens a quoted field only at the start of a field (elsewhere, as in
    ``5" screen``, it is an ordinary byte); inside one, a doubled quote is a quote and a single
    one closes it. A record ends at a ``\\n`` outside quoted fields. Every scan is linear in
    the bytes it is given: when every quote opens or closes a field (checked with numpy) the
    quotes are counted, otherwise possessive regular expressions follow the fields.

    Our rule for a quote that never closes (before the end of the input, or within
    ``UNCLOSED_QUOTE_SPAN`` bytes past its line end): its record ends at that line's end, and
    fails alone; the rows after it are read from the next line on. A quoted field running to
    the end of the file would otherwise swallow every row after it, silently.
    """

    def __init__(self, settings: CsvSettings) -> None:
        self.quote = settings.quotechar.encode(settings.encoding) if settings.quotechar else b""
        if not self.quote:
            return
        quote = re.escape(self.quote)
        delimiter = settings.delimiter.encode(settings.encoding)
        single = len(self.quote) == 1
        other = b"[^" + quote + b"]" if single else b"(?:(?!" + quote + rb")[\s\S])"
        other_in_line = b"[^" + quote + rb"\n]" if single else b"(?:(?!" + quote + rb")[^\n])"
        at_start = rb"(?:(?<![\s\S])|(?<=[\r\n])|(?<=" + re.escape(delimiter) + b"))"
        not_at_start = rb"(?<=[^\r\n])(?<!" + re.escape(delimiter) + b")"
        body = b"(?:" + other + b"++|" + quote + quote + b")*+"
        literal = not_at_start + quote
        fields = b"(?:" + other_in_line + b"++|" + at_start + quote + body + quote + b"|"
        fields += literal + b")*+"
        #: the bytes of one record's fields up to its line end or a quote not closed before
        #: the end: a run of bytes, a whole quoted field, a quote inside a field
        self._fields = re.compile(fields)
        #: whole records (each with its line end)
        self._records = re.compile(b"(?:" + fields + rb"\n)*+")
        #: the fields of a record outside quoted fields, up to its line end or an opening quote
        self._unquoted = re.compile(b"(?:" + other_in_line + b"++|" + literal + b")*+")
        #: the inside of a quoted field, up to its closing quote (or the end)
        self._body = re.compile(body)
        self._bytes: tuple[int, list[int]] | None = None
        if single and len(delimiter) == 1:
            self._bytes = (self.quote[0], [10, 13, delimiter[0], self.quote[0]])

    def last_record_end(self, data: bytes | bytearray, stop: int) -> int:
        """Offset just past the last record end in ``data[:stop]`` (a record starts at 0), or -1."""
        if not self.quote or data.find(self.quote, 0, stop) < 0:
            pos = data.rfind(b"\n", 0, stop)
            return pos + 1 if pos >= 0 else -1
        quotes = self._paired_quotes(data, 0, stop)
        if quotes is None:
            end = _end(self._records, data, 0, stop)
            return end if end > 0 else -1
        return _last_newline_outside(data, 0, stop, quotes)

    def unclosed_lines(self, data: bytes | bytearray) -> list[tuple[int, int]]:
        """(start, end) of each record of ``data`` (a record starts at 0) whose quote does not
        close before the end of ``data``: by our rule it ends at its line end. Empty when every
        quoted field closes."""
        found: list[tuple[int, int]] = []
        start = 0
        while self.quote and data.find(self.quote, start) >= 0:
            record, opened = self._open_at_end(data, start)
            if opened < 0:
                break
            line_end = data.find(b"\n", opened)
            start = len(data) if line_end < 0 else line_end + 1
            found.append((record, start))
        return found

    def _open_at_end(self, data: bytes | bytearray, start: int) -> tuple[int, int]:
        """(where the last record of ``data[start:]`` starts, its quote still open at the end
        of ``data`` or -1)."""
        quotes = self._paired_quotes(data, start, len(data))
        if quotes is None:
            record = _end(self._records, data, start)
            end = _end(self._fields, data, record)
            return record, (end if end < len(data) else -1)
        if len(quotes) % 2 == 0:
            return len(data), -1
        # the last quote with an even number before it that does not follow a quote (one that
        # does is the second half of a doubled quote)
        import numpy as np  # only for quoted input: validating a spec loads no data library

        gaps = np.diff(quotes, prepend=-2)[0::2]
        opened = int(quotes[0::2][np.flatnonzero(gaps != 1)[-1]])
        record = _last_newline_outside(data, start, opened, quotes)
        return (record if record >= 0 else start), opened

    def _paired_quotes(self, data: bytes | bytearray, start: int, stop: int) -> Any:
        """The offsets of the quotes in ``data[start:stop]`` when each opens or closes a field
        (or is half of a doubled quote), so that counting them tells quoted from not; else
        None. A quote with an even number before it opens a field: it must follow a line end,
        a delimiter, or a quote (a doubled one), or start the record."""
        import numpy as np

        if self._bytes is None or stop <= start:
            return None if stop > start else np.zeros(0, np.int64)
        quote, field_starts = self._bytes
        view = np.frombuffer(data, np.uint8, count=stop - start, offset=start)
        found = np.flatnonzero(view == quote)
        opening = found[0::2]
        opening = opening[opening > 0]
        before = view[opening - 1]
        if not np.logical_or.reduce([before == byte for byte in field_starts]).all():
            return None
        return found + start


def _end(
    pattern: re.Pattern[bytes], data: bytes | bytearray, pos: int, stop: int | None = None
) -> int:
    """Where ``pattern`` (which also matches nothing) stops matching ``data[pos:stop]``."""
    stop = len(data) if stop is None else stop
    if pos >= stop:
        return pos
    found = pattern.match(data, pos, stop)
    assert found is not None
    return found.end()


def _last_newline_outside(data: bytes | bytearray, start: int, stop: int, quotes: Any) -> int:
    """Offset just past the last ``\\n`` in ``data[start:stop]`` outside quoted fields, or -1;
    ``quotes``: the offsets of the (paired) quotes from ``start`` on."""
    import numpy as np

    pos = data.rfind(b"\n", start, stop)
    while pos >= 0:
        before = int(np.searchsorted(quotes, pos))
        if before % 2 == 0:
            return pos + 1
        pos = data.rfind(b"\n", start, int(quotes[before - 1]))  # before its opening quote
    return -1


class _FirstRecord:
    """The end of the first record of a buffer that grows, found in one pass over its bytes
    (the scan resumes where it stopped, with the quote state it had)."""

    def __init__(self, syntax: QuoteSyntax) -> None:
        self._syntax = syntax
        self._pos = 0
        self._opened = -1  # the quote of a quoted field open at ``_pos``
        self._line_end = -1  # the first ``\\n`` after it, once seen
        self._searched = 0

    def end(self, data: bytes | bytearray, eof: bool) -> int:
        """Offset just past the record's line end, or -1 when ``data`` ends before it."""
        syntax = self._syntax
        if not syntax.quote:
            pos = data.find(b"\n", self._pos)
            self._pos = len(data)
            return pos + 1 if pos >= 0 else -1
        width = len(syntax.quote)
        if width > 1:  # a quote of several bytes may be cut at the end: scan again from 0
            self._pos, self._opened = 0, -1
        while True:
            if self._opened < 0:
                end = _end(syntax._unquoted, data, self._pos)
                if end >= len(data):
                    self._pos = end
                    return -1
                if data[end] == 10:  # \n
                    return end + 1
                self._opened, self._line_end, self._searched = end, -1, end
                self._pos = end + width
            end = _end(syntax._body, data, self._pos)
            if end >= len(data) or (not eof and end + 2 * width > len(data)):
                self._pos = end  # still open, or a quote that may be the first of a doubled one
                return -1
            self._opened, self._pos = -1, end + width

    def unclosed_line_end(self, data: bytes | bytearray, eof: bool) -> int:
        """Where the record ends by our rule for a quote that never closes (see
        ``QuoteSyntax``), or -1 while its quoted field may still close."""
        if self._opened < 0:
            return -1
        if self._line_end < 0:
            found = data.find(b"\n", self._searched)
            self._searched = len(data)
            self._line_end = found + 1 if found >= 0 else -1
        if eof:
            return self._line_end if self._line_end >= 0 else len(data)
        if self._line_end >= 0 and len(data) - self._line_end > UNCLOSED_QUOTE_SPAN:
            return self._line_end
        return -1


def _prepare(stream: BinaryIO, settings: CsvSettings) -> tuple[BinaryIO, CsvSettings]:
    if is_ascii_compatible(settings.encoding):
        return stream, settings
    return _utf8_reader(stream, settings.encoding), replace(
        settings, encoding="utf-8", read_from=settings.encoding
    )


def first_record(
    stream: BinaryIO, settings: CsvSettings, start: bytes = b""
) -> tuple[bytes, bytes]:
    """The first CSV record of ``start`` followed by ``stream``, with its line end, and the
    bytes read after it: a line end inside a quoted field does not end it, and a quote inside
    a field is a character (``QuoteSyntax``). Reads no more of the stream than it needs."""
    buffer = bytearray(start)
    end, _ = _cut_first_record(stream, buffer, QuoteSyntax(settings), eof=False)
    return bytes(buffer[:end]), bytes(buffer[end:])


def _read_header(stream: BinaryIO, settings: CsvSettings) -> tuple[bytes, bytes]:
    """Return (header line without its line end, bytes already read past it)."""
    record, rest = first_record(stream, settings)
    header = record.rstrip(b"\r\n")
    if header.startswith(_UTF8_BOM):
        header = header[len(_UTF8_BOM) :]
    return header, rest


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
    if QuoteSyntax(settings).unclosed_lines(header):
        raise InvalidInput("the CSV header cannot be read: a quoted field in it does not close")
    try:
        rows = list(csv.reader([text], **csv_dialect(settings)))
    except csv.Error as exc:
        if "\r" in text:  # the csv module met a line end inside the line
            raise InvalidInput(
                "the CSV header cannot be read: its line ends with a lone CR (\\r); "
                "lines must end with LF (\\n) or CRLF"
            ) from exc
        raise InvalidInput(f"the CSV header cannot be read: {exc}") from exc
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
    syntax = QuoteSyntax(settings)
    rows = False
    eof = False
    while not (eof and not carry):  # ask a size only while there may be rows left
        target = size_of_next()
        block, eof = _read_block(stream, carry, target, eof)
        if not block:
            break
        if eof and len(block) <= target:
            cut = len(block)
        else:
            cut = syntax.last_record_end(block, target)
            if cut < 0:  # one record longer than a block: it becomes a block of its own
                cut, eof = _cut_first_record(stream, block, syntax, eof)
        carry = bytes(block[cut:])
        del block[cut:]
        if len(block) > 2 or block.strip(b"\r\n"):
            rows = True
            yield CsvBlock(header=header, data=block, settings=settings)
    if not rows:  # a header that cannot be read (say, a CR-only file read as one line) fails
        parse_header(header, settings)  # here: the job would take it for an empty input


def _cut_first_record(
    stream: BinaryIO, block: bytearray, syntax: QuoteSyntax, eof: bool
) -> tuple[int, bool]:
    """Where ``block``'s first record ends, reading more of the stream into ``block`` until it
    does; and whether the stream has ended. A quote that never closes ends the record at its
    line end (see ``QuoteSyntax``), so the block stays bounded."""
    first = _FirstRecord(syntax)
    while True:
        cut = first.end(block, eof)
        if cut < 0:
            cut = first.unclosed_line_end(block, eof)
        if cut < 0 and eof:
            cut = len(block)
        if cut >= 0:
            return cut, eof
        piece = stream.read(_READ_SIZE)
        eof = not piece
        block += piece


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
