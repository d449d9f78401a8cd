"""A byte stream kept in storage as numbered segments, readable while it is written.

An object store has no appendable object, and a reader on another server cannot follow a local
file, so a stream that others read as it grows (a ``localFile`` job's uploaded input, its
output) is written as segments ``<prefix>000000``, ``<prefix>000001``, …: each one is stored
whole (``BlobStore.put_bytes``), so a reader that finds segment ``n`` reads all of it, and the
next one it waits for is ``n + 1``. The writer cuts a segment when ``SEGMENT_BYTES`` are
buffered, and on ``publish_due()`` once ``FLUSH_SECONDS`` passed since the last one, so that
slow streams still show their bytes soon (``PeriodicPublisher`` calls it from a thread of its
own, for a writer that may pause: a job waiting for its input). Memory: at most one segment
buffered.

What ends the stream (a marker, a commit manifest) is the caller's: segments carry no end.
"""

from __future__ import annotations

import io
import threading
import time
from typing import Any

from scorecast.connectors.storage.base import BLOCK_BYTES, BlobMissing, BlobStore
from scorecast.home_layout import segment_key

#: bytes of a full segment
SEGMENT_BYTES = BLOCK_BYTES
#: a partial segment is published by ``publish_due`` after this long (seconds)
FLUSH_SECONDS = 1.0


class SegmentWriter(io.RawIOBase):
    """A writable sink cutting what is written into segments under ``prefix``."""

    def __init__(self, store: BlobStore, prefix: str, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.store, self.prefix = store, prefix
        self.segment_bytes = segment_bytes
        self.segments = 0
        self.size = 0
        self._buffer = bytearray()
        self._last = time.monotonic()
        self._lock = threading.Lock()  # writes and a ``PeriodicPublisher``'s publishing

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        with self._lock:
            self._buffer += view
            self.size += len(view)
            while len(self._buffer) >= self.segment_bytes:
                self._publish(bytes(self._buffer[: self.segment_bytes]))
                del self._buffer[: self.segment_bytes]
        return len(view)

    def publish_due(self) -> None:
        """Publish what is buffered when the last segment is ``FLUSH_SECONDS`` old."""
        if self._buffer and time.monotonic() - self._last >= FLUSH_SECONDS:
            self.publish()

    def publish(self) -> None:
        """Publish what is buffered as a segment now (nothing when empty)."""
        with self._lock:
            if self._buffer:
                self._publish(bytes(self._buffer))
                self._buffer.clear()

    def _publish(self, data: bytes) -> None:
        self.store.put_bytes(segment_key(self.prefix, self.segments), data)
        self.segments += 1
        self._last = time.monotonic()


class PeriodicPublisher:
    """Calls ``writer.publish_due()`` every ``FLUSH_SECONDS / 2`` in a daemon thread until
    ``stop()``; a failure is left for the writer's next write or commit to meet."""

    def __init__(self, writer: SegmentWriter) -> None:
        self._writer = writer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="segment-publisher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS / 2):
            try:
                self._writer.publish_due()
            except Exception:  # the storage failed: the next write or commit says so
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class SegmentReader:
    """Reads the segments under ``prefix`` in order, as far as they exist now.

    ``read`` returns ``b""`` when the next segment is not there (yet): the caller decides
    whether the stream is over (its end marker) or waits and reads again.
    """

    def __init__(self, store: BlobStore, prefix: str, last: int | None = None) -> None:
        self.store, self.prefix = store, prefix
        #: the number of segments when known (a committed stream): none is waited for after
        self.last = last
        self.number = 0
        self.position = 0
        self._stream: Any = None

    def read(self, size: int) -> bytes:
        while True:
            if self._stream is None:
                if self.last is not None and self.number >= self.last:
                    return b""
                try:
                    self._stream = self.store.open_from(segment_key(self.prefix, self.number))
                except BlobMissing:
                    return b""
            data: bytes = self._stream.read(size)
            if data:
                self.position += len(data)
                return data
            self._stream.close()
            self._stream = None
            self.number += 1

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


class AvailableBytes(io.RawIOBase):
    """The segments that exist now as a finite stream (for peeking at a header)."""

    def __init__(self, reader: SegmentReader) -> None:
        self._reader = reader

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._reader.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._reader.close()
        super().close()
