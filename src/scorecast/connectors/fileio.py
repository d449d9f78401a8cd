"""What every file-based connector shares: ranged reads, CSV/Parquet through ``formats``.

- ``RangedReader``: a seekable, read-only binary stream over an object of known size that
  fetches byte ranges on demand (wrap it in ``io.BufferedReader``); Parquet seeks to its footer
  and row groups, CSV reads front to back. Nothing is downloaded beyond what is read.
- ``FileIntake``: an intake over any ``open()`` returning a binary stream.
- ``PartWriter``: a writable sink that cuts the encoded output into parts of ``part_size``
  bytes and hands each to ``upload_part``; the last (possibly short) part is flushed by
  ``finish()``.
- ``EncodedOutput``: an output that encodes batches into a sink and delegates staging,
  ``commit`` and ``abort`` to the store (S3 multipart, Azure blocks, GCS resumable, files).
"""

from __future__ import annotations

import contextlib
import io
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import urlsplit

from scorecast.connectors.base import Intake, Output
from scorecast.domain.csv_settings import CsvSettings, FileFormat
from scorecast.errors import ConnectorError, InvalidInput, ScorecastError
from scorecast.formats.chunks import Chunk, ChunkBytes

if TYPE_CHECKING:  # pyarrow is imported where data is read: validating settings needs none of it
    import pyarrow as pa

#: Bytes fetched per ranged request at least (reads of whole blocks fetch the block at once).
READ_BUFFER = 8 << 20


class RangedReader(io.RawIOBase):
    """Read-only seekable stream; ``fetch(start, length)`` returns bytes ``[start, start+len)``.

    With ``open_from(start)`` (a streaming response of the object from ``start`` to its end,
    read incrementally), sequential reads share one request and only a seek elsewhere opens a
    new one; ``fetch`` is then unused. Either way nothing is read ahead beyond what is asked.
    """

    def __init__(
        self,
        size: int,
        fetch: Callable[[int, int], bytes] | None = None,
        open_from: Callable[[int], Any] | None = None,
    ) -> None:
        self.size = size
        self._fetch = fetch
        self._open_from = open_from
        self._stream: Any = None
        self._stream_position = -1
        self._position = 0
        self.fetched = 0
        self.requests = 0

    def _read_range(self, start: int, length: int) -> bytes:
        if self._open_from is None:
            assert self._fetch is not None
            self.requests += 1
            return self._fetch(start, length)
        if self._stream is None or self._stream_position != start:
            self._close_stream()
            self._stream = self._open_from(start)
            self._stream_position = start
            self.requests += 1
        data: bytes = self._stream.read(length)
        if 0 < len(data) < length:  # a short read: gather the rest (rare)
            parts = [data]
            while (got := sum(map(len, parts))) < length:
                piece = self._stream.read(length - got)
                if not piece:
                    break
                parts.append(piece)
            data = b"".join(parts)
        self._stream_position += len(data)
        return data

    def _close_stream(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.close()
            self._stream = None

    def close(self) -> None:
        self._close_stream()
        super().close()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self.size + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if position < 0:
            raise ValueError("negative seek position")
        self._position = position
        return position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        length = min(len(view), self.size - self._position)
        if length <= 0:
            return 0
        data = self._read_range(self._position, length)
        if not data:
            return 0
        view[: len(data)] = data
        self._position += len(data)
        self.fetched += len(data)
        return len(data)


def buffered(reader: RangedReader) -> BinaryIO:
    stream: Any = io.BufferedReader(reader, buffer_size=READ_BUFFER)
    return stream  # type: ignore[no-any-return]


def file_format(config: Mapping[str, Any]) -> FileFormat:
    """The adapter's ``format`` setting (validated before), ``csv`` when absent."""
    return cast(FileFormat, config.get("format") or "csv")


#: content codings that compress: such an object's stored bytes are not its file, and a ranged
#: read returns pieces of the compressed stream (S3 and Azure never decode; GCS decodes only whole
#: downloads)
_COMPRESSING_CODINGS = frozenset(
    {"gzip", "x-gzip", "deflate", "br", "compress", "x-compress", "zstd"}
)


def refuse_compressed(location: str, content_encoding: str | None) -> None:
    """``ConnectorError`` when an object is stored with a compressing ``Content-Encoding``
    (other values, such as a misused ``utf-8``, describe nothing a read must undo)."""
    codings = {part.strip().lower() for part in (content_encoding or "").split(",")}
    found = sorted(codings & _COMPRESSING_CODINGS)
    if found:
        raise ConnectorError(
            f"{location}: the object is stored with Content-Encoding {', '.join(found)}: its "
            "bytes are compressed and cannot be read by ranges; store it without a content "
            "encoding"
        )


def ranged_intake(
    location: str,
    config: Mapping[str, Any],
    csv: CsvSettings,
    size_of: Callable[[], int],
    *,
    fetch: Callable[[int, int], bytes] | None = None,
    open_from: Callable[[int], Any] | None = None,
) -> FileIntake:
    """An intake over a stored object read by ranges (see ``RangedReader``) in its format.

    ``size_of()`` is asked each time the stream is opened, so a retry sees the current size.
    """

    def open_stream() -> BinaryIO:
        return buffered(RangedReader(size_of(), fetch, open_from))

    return FileIntake(location, open_stream, file_format(config), csv, size_of)


class FileIntake(Intake):
    """CSV or Parquet rows from ``open()``'s stream, in chunks of about ``target_bytes``.

    ``ConnectorError`` from ``open()`` passes through; a file that is not valid in its format
    becomes a ``ConnectorError`` naming the location.
    """

    def __init__(
        self,
        location: str,
        open_stream: Callable[[], BinaryIO],
        fmt: FileFormat,
        csv_settings: CsvSettings | None = None,
        size_of: Callable[[], int] | None = None,
    ) -> None:
        self.location = location
        self._size_of = size_of
        self._size: int | None = None
        self.format = fmt
        self.csv_settings = csv_settings or CsvSettings()
        self._open = open_stream
        self._stream: BinaryIO | None = None
        self._consumed = 0
        self._done = False

    def open_stream(self) -> BinaryIO:
        """A new seekable binary stream over the whole file (the Dask executor reads byte
        ranges and row groups of it); the caller closes it."""
        return self._open()

    @property
    def size(self) -> int | None:
        """The file's size (one metadata request for object stores), None if unavailable."""
        if self._size is None and self._size_of is not None:
            try:
                self._size = self._size_of()
            except ScorecastError:
                return None
        return self._size

    def header(self) -> list[str] | None:
        import pyarrow as pa

        from scorecast.formats import read_csv_header

        try:
            with self._open() as stream:
                if self.format == "parquet":
                    import pyarrow.parquet as pq

                    return list(pq.ParquetFile(stream).schema_arrow.names)
                header = read_csv_header(stream, self.csv_settings)
                return header.names if header else None
        except (InvalidInput, pa.ArrowException, OSError):
            return None

    def chunks(self, target_bytes: ChunkBytes) -> Iterator[Chunk]:
        import pyarrow as pa

        from scorecast.formats import iter_csv_blocks, iter_parquet_batches

        self._stream = self._open()
        try:
            if self.format == "parquet":
                yield from iter_parquet_batches(self._stream, target_bytes)
            else:
                yield from iter_csv_blocks(self._stream, self.csv_settings, target_bytes)
        except ConnectorError:
            raise
        except ScorecastError as exc:
            raise ConnectorError(f"{self.location}: {exc.message}", exc.errors) from exc
        except (OSError, pa.ArrowException) as exc:
            raise ConnectorError(f"{self.location}: cannot read: {exc}") from exc
        if self.format == "parquet":
            self._consumed = self._stream.seek(0, io.SEEK_END)  # the whole file was the input
        else:
            self._consumed = self._position()
        self._done = True

    def _position(self) -> int:
        if self._done or self._stream is None or self._stream.closed:
            return self._consumed
        try:
            return self._stream.tell()
        except (OSError, ValueError):
            return self._consumed

    @property
    def bytes_read(self) -> int:
        return self._position()

    def close(self) -> None:
        if self._stream is not None:
            self._consumed = self._position()
            self._done = True
            self._stream.close()


class PartWriter(io.RawIOBase):
    """A sink cutting what is written into parts and handing each to ``upload_part``: parts of
    exactly ``part_size`` bytes (the last: fewer), or, with ``limits``, parts that grow by
    ``part_size`` every ``limits.grow_every`` parts, at most ``limits.max_parts`` of them (an
    object store's cap on the parts of one object; ``ConnectorError`` naming ``where`` past it).
    """

    def __init__(
        self,
        part_size: int,
        upload_part: Callable[[bytes], None],
        limits: PartLimits | None = None,
        where: str = "",
    ) -> None:
        self.part_size = part_size
        self._upload = upload_part
        self._limits = limits
        self._where = where
        self._buffer = bytearray()
        self.parts = 0
        self.total = 0

    def writable(self) -> bool:
        return True

    def next_part_size(self) -> int:
        """The size of the next full part."""
        if self._limits is None:
            return self.part_size
        return self.part_size * (1 + self.parts // self._limits.grow_every)

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._buffer += view
        self.total += len(view)
        while len(self._buffer) >= (size := self.next_part_size()):
            self._check_room()
            part = bytes(self._buffer[:size])
            del self._buffer[:size]
            self._upload(part)
            self.parts += 1
        return len(view)

    def remainder(self) -> bytes:
        """What is buffered and not yet uploaded (the last part); clears the buffer."""
        if self._buffer:
            self._check_room()
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest

    def _check_room(self) -> None:
        if self._limits is not None and self.parts >= self._limits.max_parts:
            raise ConnectorError(
                f"{self._where}: the output is larger than the store takes in one object "
                f"({self._limits.max_parts:,} parts, about "
                f"{self._limits.capacity(self.part_size) >> 30:,} GiB here); split the input "
                "into smaller jobs"
            )


@dataclass(frozen=True)
class PartLimits:
    """An object store's cap on the parts of one object, and how often parts grow so that
    large outputs fit under it while one part stays small in memory."""

    max_parts: int
    grow_every: int

    def capacity(self, part_size: int) -> int:
        """The most bytes ``max_parts`` parts hold."""
        full, rest = divmod(self.max_parts, self.grow_every)
        steps = full * (full + 1) // 2 * self.grow_every + rest * (full + 1)
        return steps * part_size


class _GuardedSink(io.RawIOBase):
    """Forwards writes to ``sink`` until ``discarding`` is set (after an abort)."""

    def __init__(self, sink: BinaryIO) -> None:
        self.sink = sink
        self.discarding = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = len(memoryview(data).cast("B"))
        if not self.discarding:
            self.sink.write(data)
        return size

    def flush(self) -> None:
        if not self.discarding:
            self.sink.flush()


class EncodedOutput(Output):
    """Encodes batches with ``formats.open_encoder`` into ``self.sink()``; the store commits.

    Subclasses implement ``_open_sink`` (called once, at the first write or at commit),
    ``_finish`` (make the staged bytes visible) and ``_discard`` (remove what was staged).
    Every store error is raised as ``ConnectorError`` naming ``location``.
    """

    def __init__(self, location: str, fmt: FileFormat, csv_settings: CsvSettings | None) -> None:
        self.location = location
        self.format = fmt
        self.csv_settings = csv_settings or CsvSettings()
        self._guard: _GuardedSink | None = None
        self._encoder: Any = None
        self._state = "open"

    @abstractmethod
    def _open_sink(self) -> BinaryIO: ...

    @abstractmethod
    def _finish(self) -> None: ...

    @abstractmethod
    def _discard(self) -> None: ...

    def _failure(self, action: str, exc: BaseException) -> ConnectorError:
        return ConnectorError(f"{self.location}: {action} failed: {describe(exc)}")

    def _ensure_encoder(self) -> Any:
        if self._encoder is None:
            from scorecast.formats import open_encoder

            self._guard = _GuardedSink(self._open_sink())
            self._encoder = open_encoder(self.format, self.csv_settings, cast(Any, self._guard))
        return self._encoder

    def write(self, batch: pa.RecordBatch) -> None:
        if self._state != "open":
            raise ConnectorError(f"{self.location}: write after {self._state}")
        try:
            self._ensure_encoder().write(batch)
        except ScorecastError:
            raise
        except Exception as exc:
            raise self._failure("writing", exc) from exc

    def commit(self) -> None:
        if self._state == "committed":
            return
        if self._state != "open":
            raise ConnectorError(f"{self.location}: commit after abort")
        try:
            self._ensure_encoder().close()
            self._finish()
        except ScorecastError:
            raise
        except Exception as exc:
            raise self._failure("committing", exc) from exc
        self._state = "committed"

    def abort(self) -> None:
        if self._state in ("aborted", "committed"):
            return
        self._state = "aborted"
        if self._guard is not None:
            # close the encoder into the void, so that nothing it holds flushes later
            self._guard.discarding = True
            with contextlib.suppress(Exception):
                self._encoder.close()
        try:
            self._discard()
        except Exception as exc:
            raise self._failure("discarding the staged output", exc) from exc

    @property
    def bytes_written(self) -> int:
        return int(self._encoder.bytes_written) if self._encoder is not None else 0


#: Packages of the HTTP clients under the object-store connectors. Their exceptions' text can
#: quote what was sent: a header value (an AWS session token: http.client's "Invalid header
#: value b'…'"), a signed URL's query, a resumable upload's session URL with its upload id.
_CLIENT_PACKAGES = (
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "requests",
    "http",
    "azure",
    "google",
)


def describe(exc: BaseException) -> str:
    """A one-line cause for a message: the exception's type and first line of text.

    An exception of an HTTP client (``_CLIENT_PACKAGES``) is described by
    ``describe_client_error`` instead: its type and host, never its text.
    """
    if is_client_error(exc):
        return describe_client_error(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def is_client_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from an HTTP client (``_CLIENT_PACKAGES``): its text is not shown.

    ``requests``' errors are ``OSError``s: a caller that lets a source's ``OSError`` through
    must still wrap these."""
    return type(exc).__module__.split(".", 1)[0] in _CLIENT_PACKAGES


def describe_client_error(exc: BaseException) -> str:
    """The cause of a failed request to a store: the exception's type and the host it was
    talking to when the exception (or one it was raised from) names one, never the text.

    For every exception raised inside a storage client call, whatever its type: the text of a
    client-side error can quote request headers, signatures or URL queries (``_CLIENT_PACKAGES``).
    """
    host = _host_of(exc)
    return f"{type(exc).__name__} (host {host})" if host else type(exc).__name__


def _host_of(exc: BaseException) -> str | None:
    """``host[:port]`` of the URL or connection pool a client exception carries, if any."""
    current: BaseException | None = exc
    for _ in range(5):  # the exception and the ones it was raised from
        if current is None:
            return None
        kwargs = getattr(current, "kwargs", None)  # botocore: endpoint_url
        candidates = [
            kwargs.get("endpoint_url") if isinstance(kwargs, dict) else None,
            getattr(getattr(current, "request", None), "url", None),  # requests
        ]
        for url in candidates:
            if isinstance(url, str) and (host := _url_host(url)):
                return host
        pool = getattr(current, "pool", None)  # urllib3
        pool_host = getattr(pool, "host", None)
        if isinstance(pool_host, str) and pool_host:
            port = getattr(pool, "port", None)
            return f"{pool_host}:{port}" if isinstance(port, int) else pool_host
        current = current.__cause__ or current.__context__
    return None


def _url_host(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return f"{parts.hostname}:{port}" if port else parts.hostname
