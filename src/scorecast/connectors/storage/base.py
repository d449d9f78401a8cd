"""``BlobStore``: the contract of the storage that servers share (``SCORECAST_STORAGE_URL``).

Keys are ``/``-separated relative names built by ``scorecast.home_layout`` only. A store keeps
bytes under keys and guarantees:

- **whole or nothing**: ``put`` and ``put_bytes`` make an object visible only once all its bytes
  are stored (a temporary file renamed into place, an S3 multipart upload completed, an Azure
  block list committed, a GCS upload finished); a failed or interrupted write leaves no object
  (at most invisible debris that the store or a lifecycle rule removes);
- **streaming**: ``put`` reads its source in blocks and ``open_from`` returns a stream read in
  blocks; no method holds a whole object in memory (``put_bytes``/``read_bytes`` are for small
  markers and manifests);
- **read after write**: an object written by one server is visible to every server once ``put``
  returned (S3, Azure and GCS are strongly consistent for this);
- **missing is not an error** for ``size`` (None), ``delete`` and ``delete_prefix``;
  ``open_from`` raises ``BlobMissing``;
- every other failure raises ``StorageError`` naming the store's location and the cause, never
  a secret.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from scorecast.errors import ConnectorError

#: bytes read from a source per block, and the part size of multipart writes
BLOCK_BYTES = 8 << 20


class StorageError(ConnectorError):
    """The storage failed (unreachable, access denied, ...); names the location, no secret."""


class BlobMissing(StorageError):
    """The object does not exist."""


class BlobStore(Protocol):
    """Objects under keys; see the module docstring for the guarantees."""

    #: where the store is, for messages (a URL without credentials, or a folder)
    location: str

    def put(self, key: str, source: BinaryIO) -> int:
        """Store ``source`` read to its end under ``key`` (replacing it); the bytes stored."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store a small object."""
        ...

    def open_from(self, key: str, start: int = 0) -> BinaryIO:
        """The object from byte ``start`` to its end, as a stream read incrementally."""
        ...

    def read_bytes(self, key: str) -> bytes:
        """A small object whole (``BlobMissing`` when absent)."""
        ...

    def size(self, key: str) -> int | None:
        """The object's size in bytes; None when it does not exist."""
        ...

    def keys(self, prefix: str) -> list[str]:
        """Every key starting with ``prefix``, sorted."""
        ...

    def delete(self, key: str) -> None:
        """Remove an object (nothing when it is absent)."""
        ...

    def delete_prefix(self, prefix: str) -> None:
        """Remove every object whose key starts with ``prefix``."""
        ...

    def prepare(self) -> None:
        """Create what the store needs on a server's start (a local folder); else nothing."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The object's file when the store is a local folder (no copy needed); else None."""
        ...

    def check(self) -> None:
        """Raise ``StorageError`` unless the store answers and may be written (readiness)."""
        ...


class CountingReader(io.RawIOBase):
    """A source that counts the bytes read from it (for ``put``'s answer)."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._source.read(-1 if size is None else size)
        self.count += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
