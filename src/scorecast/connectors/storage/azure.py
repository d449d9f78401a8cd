"""``AzureBlobStore``: the storage in an Azure Blob Storage container (``az://container/prefix``).

The account and its key come from the standard Azure setting ``AZURE_STORAGE_CONNECTION_STRING``
(Azurite's works too). ``put`` stages blocks of ``BLOCK_BYTES`` and commits the block list at
the end (uncommitted blocks are invisible); reads stream from a byte offset. Needs the
``azure`` extra.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, BinaryIO, cast

from scorecast.connectors.fileio import describe
from scorecast.connectors.storage.base import (
    BLOCK_BYTES,
    BlobMissing,
    CountingReader,
    StorageError,
)
from scorecast.errors import require_extra


class AzureBlobStore:
    """See the module docstring."""

    def __init__(self, container: str, prefix: str) -> None:
        blob_module = require_extra("azure.storage.blob", "azure")
        connection = os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "")
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.location = f"az://{container}/{self.prefix}"
        if not connection:
            raise StorageError(f"{self.location}: AZURE_STORAGE_CONNECTION_STRING is not set")
        try:
            service = blob_module.BlobServiceClient.from_connection_string(
                connection, max_block_size=BLOCK_BYTES, max_single_put_size=BLOCK_BYTES
            )
        except Exception as exc:  # the connection string itself is never part of the message
            raise StorageError(
                f"{self.location}: AZURE_STORAGE_CONNECTION_STRING is not usable "
                f"({type(exc).__name__})"
            ) from exc
        self.container = service.get_container_client(container)

    def _blob(self, key: str) -> Any:
        return self.container.get_blob_client(self.prefix + key)

    def _failure(self, action: str, key: str, exc: BaseException) -> StorageError:
        code = getattr(exc, "error_code", None)
        if type(exc).__name__ == "ResourceNotFoundError" and code != "ContainerNotFound":
            return BlobMissing(f"{self.location}{key} does not exist")
        cause = code or describe(exc)
        return StorageError(f"{self.location}: {action} {key}: {cause}")

    def put(self, key: str, source: BinaryIO) -> int:
        counted = CountingReader(source)
        try:
            self._blob(key).upload_blob(counted, overwrite=True, max_concurrency=1)
        except Exception as exc:
            raise self._failure("writing", key, exc) from exc
        return counted.count

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            self._blob(key).upload_blob(data, overwrite=True)
        except Exception as exc:
            raise self._failure("writing", key, exc) from exc

    def open_from(self, key: str, start: int = 0) -> BinaryIO:
        size = self.size(key)
        if size is None:
            raise BlobMissing(f"{self.location}{key} does not exist")
        if start >= size:
            return cast(BinaryIO, io.BytesIO(b""))
        try:
            chunks = self._blob(key).download_blob(offset=start, max_concurrency=1).chunks()
        except Exception as exc:
            raise self._failure("reading", key, exc) from exc
        return cast(BinaryIO, _Chunks(chunks, lambda exc: self._failure("reading", key, exc)))

    def read_bytes(self, key: str) -> bytes:
        try:
            return cast(bytes, self._blob(key).download_blob().readall())
        except Exception as exc:
            raise self._failure("reading", key, exc) from exc

    def size(self, key: str) -> int | None:
        try:
            return int(self._blob(key).get_blob_properties().size)
        except Exception as exc:
            failure = self._failure("reading", key, exc)
            if isinstance(failure, BlobMissing):
                return None
            raise failure from exc

    def keys(self, prefix: str) -> list[str]:
        try:
            names = [
                b.name for b in self.container.list_blobs(name_starts_with=self.prefix + prefix)
            ]
        except Exception as exc:
            raise self._failure("listing", prefix, exc) from exc
        return sorted(name[len(self.prefix) :] for name in names)

    def delete(self, key: str) -> None:
        try:
            self._blob(key).delete_blob()
        except Exception as exc:
            failure = self._failure("deleting", key, exc)
            if not isinstance(failure, BlobMissing):
                raise failure from exc

    def delete_prefix(self, prefix: str) -> None:
        for key in self.keys(prefix):
            self.delete(key)

    def local_path(self, key: str) -> Path | None:
        return None

    def prepare(self) -> None:
        return None

    def check(self) -> None:
        try:
            self.container.get_container_properties()
        except Exception as exc:
            raise self._failure("reaching the container", "", exc) from exc


class _Chunks(io.RawIOBase):
    """A download's chunks as a stream."""

    def __init__(self, chunks: Any, failure: Any) -> None:
        self._chunks = chunks
        self._failure = failure
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if not self._pending:
            try:
                self._pending = next(self._chunks, b"")
            except Exception as exc:
                raise self._failure(exc) from exc
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count
