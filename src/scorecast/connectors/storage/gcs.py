"""``GcsBlobStore``: the storage in a Google Cloud Storage bucket (``gs://bucket/prefix``).

Credentials are Google's Application Default Credentials of the server
(``GOOGLE_APPLICATION_CREDENTIALS``, the metadata server); ``STORAGE_EMULATOR_HOST`` points the
client at an emulator. ``put`` is a resumable upload in ``BLOCK_BYTES`` chunks (the object
exists once the last chunk is in); reads stream by ranges from an offset. Needs the ``gcp``
extra.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any, BinaryIO, cast

from scorecast.connectors.fileio import describe, is_client_error
from scorecast.connectors.storage.base import BLOCK_BYTES, BlobMissing, StorageError
from scorecast.errors import require_extra


class GcsBlobStore:
    """See the module docstring."""

    def __init__(self, bucket: str, prefix: str) -> None:
        storage = require_extra("google.cloud.storage", "gcp")
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.location = f"gs://{bucket}/{self.prefix}"
        emulator = os.environ.get("STORAGE_EMULATOR_HOST")
        try:
            if emulator:
                from google.auth.credentials import AnonymousCredentials

                client = storage.Client(
                    project=os.environ.get("GOOGLE_CLOUD_PROJECT") or "scorecast",
                    credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                    client_options={"api_endpoint": emulator},
                )
            else:
                client = storage.Client()
        except Exception as exc:
            raise StorageError(
                f"{self.location}: no usable Google credentials ({type(exc).__name__})"
            ) from exc
        self.bucket = client.bucket(bucket)

    def _blob(self, key: str) -> Any:
        blob = self.bucket.blob(self.prefix + key, chunk_size=BLOCK_BYTES)
        return blob

    def _failure(self, action: str, key: str, exc: BaseException) -> StorageError:
        if type(exc).__name__ == "NotFound":
            return BlobMissing(f"{self.location}{key} does not exist")
        return StorageError(f"{self.location}: {action} {key}: {describe(exc)}")

    def put(self, key: str, source: BinaryIO) -> int:
        """A resumable upload fed block by block; it is finished (the object appears) only by
        ``close()`` after the last block. A source or request that fails terminates the upload
        (its session is cancelled), so nothing finishes it later: left to the garbage
        collector, the writer's ``close()`` would create the object from the blocks sent."""
        size = 0
        try:
            out = self._blob(key).open(
                "wb",
                chunk_size=BLOCK_BYTES,
                ignore_flush=True,
                content_type="application/octet-stream",
            )
        except Exception as exc:
            raise self._failure("writing", key, exc) from exc
        try:
            while block := source.read(BLOCK_BYTES):
                out.write(block)
                size += len(block)
            out.close()
        except BaseException as exc:
            with contextlib.suppress(Exception):  # the failure itself is what matters
                out.terminate()
            if not isinstance(exc, Exception) or (
                isinstance(exc, OSError) and not is_client_error(exc)
            ):
                raise  # the source's own failure, or an interruption
            raise self._failure("writing", key, exc) from exc
        return size

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            self.bucket.blob(self.prefix + key).upload_from_string(data)
        except Exception as exc:
            raise self._failure("writing", key, exc) from exc

    def open_from(self, key: str, start: int = 0) -> BinaryIO:
        size = self.size(key)
        if size is None:
            raise BlobMissing(f"{self.location}{key} does not exist")
        return cast(BinaryIO, _Ranges(self, key, start, size))

    def read_range(self, key: str, start: int, end: int) -> bytes:
        try:
            return cast(
                bytes,
                self.bucket.blob(self.prefix + key).download_as_bytes(
                    start=start, end=end - 1, checksum=None
                ),
            )
        except Exception as exc:
            raise self._failure("reading", key, exc) from exc

    def read_bytes(self, key: str) -> bytes:
        try:
            return cast(bytes, self.bucket.blob(self.prefix + key).download_as_bytes())
        except Exception as exc:
            raise self._failure("reading", key, exc) from exc

    def size(self, key: str) -> int | None:
        try:
            found = self.bucket.get_blob(self.prefix + key)
        except Exception as exc:
            raise self._failure("reading", key, exc) from exc
        return None if found is None else int(found.size or 0)

    def keys(self, prefix: str) -> list[str]:
        try:
            names = [b.name for b in self.bucket.list_blobs(prefix=self.prefix + prefix)]
        except Exception as exc:
            raise self._failure("listing", prefix, exc) from exc
        return sorted(name[len(self.prefix) :] for name in names)

    def delete(self, key: str) -> None:
        try:
            self.bucket.blob(self.prefix + key).delete()
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
            self.bucket.reload()
        except Exception as exc:
            raise self._failure("reaching the bucket", "", exc) from exc


class _Ranges(io.RawIOBase):
    """An object read front to back by ranges of at most ``BLOCK_BYTES``."""

    def __init__(self, store: GcsBlobStore, key: str, start: int, size: int) -> None:
        self._store, self._key = store, key
        self._position, self._size = start, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        end = min(self._size, self._position + min(len(view), BLOCK_BYTES))
        if end <= self._position:
            return 0
        data = self._store.read_range(self._key, self._position, end)
        view[: len(data)] = data
        self._position += len(data)
        return len(data)
