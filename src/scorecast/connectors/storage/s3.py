"""``S3BlobStore``: the storage in an S3 bucket (``s3://bucket/prefix``), AWS or S3-compatible.

Credentials, region and endpoint come from the standard AWS settings of the server (environment
variables such as ``AWS_ACCESS_KEY_ID``, ``AWS_REGION`` and ``AWS_ENDPOINT_URL``, profiles, the
instance role), as boto3 reads them. ``put`` is boto3's managed transfer: a multipart upload of
``BLOCK_BYTES`` parts for large sources (completed at the end, aborted on failure), one PUT for
small ones; reads are streaming GETs from a byte offset. Needs the ``s3`` extra.
"""

from __future__ import annotations

import io
import threading
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

_CLIENT_LOCK = threading.Lock()
_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3BlobStore:
    """See the module docstring."""

    def __init__(self, bucket: str, prefix: str) -> None:
        boto3 = require_extra("boto3", "s3")
        from boto3.s3.transfer import TransferConfig

        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.location = f"s3://{bucket}/{self.prefix}"
        with _CLIENT_LOCK:
            session = boto3.session.Session()
            _check_credentials(session, self.location)
            self.client = session.client("s3", region_name=session.region_name or "us-east-1")
        self._transfer = TransferConfig(
            multipart_threshold=BLOCK_BYTES, multipart_chunksize=BLOCK_BYTES, use_threads=False
        )

    def _key(self, key: str) -> str:
        return self.prefix + key

    def _failure(self, action: str, key: str, exc: BaseException) -> StorageError:
        response = getattr(exc, "response", None)
        if isinstance(response, dict) and "Error" in response:
            code = str(response["Error"].get("Code") or "")
            if code in _MISSING:
                return BlobMissing(f"{self.location}{key} does not exist")
            message = response["Error"].get("Message") or code
            return StorageError(f"{self.location}: {action} {key}: {message} ({code})")
        return StorageError(f"{self.location}: {action} {key}: {describe(exc)}")

    def put(self, key: str, source: BinaryIO) -> int:
        counted = CountingReader(source)
        try:
            self.client.upload_fileobj(counted, self.bucket, self._key(key), Config=self._transfer)
        except Exception as exc:
            raise self._failure("writing", key, exc) from exc
        return counted.count

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except Exception as exc:
            raise self._failure("writing", key, exc) from exc

    def open_from(self, key: str, start: int = 0) -> BinaryIO:
        extra = {"Range": f"bytes={start}-"} if start else {}
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key), **extra)["Body"]
        except Exception as exc:
            response = getattr(exc, "response", None) or {}
            if str(response.get("Error", {}).get("Code")) == "InvalidRange":
                return cast(BinaryIO, io.BytesIO(b""))  # ``start`` is the object's end
            raise self._failure("reading", key, exc) from exc
        return cast(BinaryIO, _Body(body, lambda exc: self._failure("reading", key, exc)))

    def read_bytes(self, key: str) -> bytes:
        with self.open_from(key) as stream:
            return stream.read()

    def size(self, key: str) -> int | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            failure = self._failure("reading", key, exc)
            if isinstance(failure, BlobMissing):
                return None
            raise failure from exc
        return int(head["ContentLength"])

    def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key(prefix)
            )
            for page in pages:
                found.extend(item["Key"][len(self.prefix) :] for item in page.get("Contents", []))
        except Exception as exc:
            raise self._failure("listing", prefix, exc) from exc
        return sorted(found)

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            failure = self._failure("deleting", key, exc)
            if not isinstance(failure, BlobMissing):
                raise failure from exc

    def delete_prefix(self, prefix: str) -> None:
        keys = self.keys(prefix)
        for start in range(0, len(keys), 1000):
            batch = [{"Key": self._key(key)} for key in keys[start : start + 1000]]
            try:
                self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            except Exception as exc:
                raise self._failure("deleting", prefix, exc) from exc

    def local_path(self, key: str) -> Path | None:
        return None

    def prepare(self) -> None:
        return None

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise self._failure("reaching the bucket", "", exc) from exc


def _check_credentials(session: Any, location: str) -> None:
    """``StorageError`` when boto3 finds no AWS credentials: the storage is written, so a
    server without them would fail every upload and job (as GCS and Azure stores say at once)."""
    try:
        found = session.get_credentials()
    except Exception as exc:  # a broken profile or credential process
        raise StorageError(f"{location}: unusable AWS credentials ({type(exc).__name__})") from exc
    if found is None:
        raise StorageError(
            f"{location}: no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "a profile or an instance role)"
        )


class _Body(io.RawIOBase):
    """A GET's streaming body whose errors become ``StorageError``."""

    def __init__(self, body: Any, failure: Any) -> None:
        self._body = body
        self._failure = failure

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            return cast(bytes, self._body.read(None if size is None or size < 0 else size))
        except Exception as exc:
            raise self._failure(exc) from exc

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()
