"""Where the tasks of a job scored on a Dask cluster leave their parts: next to the output.

A part is one task's scored rows (an Arrow IPC stream), written by the task straight to the
output's own storage, under a staging name of the job's attempt, and read back in input order by
the job's process, which writes them to the output and commits it (the same commit as a job
scored locally: ``docs/concepts/exactly-once-outputs.md``). A part is never visible at the
output's location as a result:

- ``filesystem``: hidden files next to the target, named as the output's own staging files
  (``.<target>.scorecast-<job>.<attempt>.dask-<n>.part``), so that a retry's
  ``remove_debris`` and the periodic sweep (``runtime.debris_sweep``) remove a dead attempt's.
- ``s3``, ``azure``, ``gcp``: objects (blobs) ``<key>.scorecast-<job>.<attempt>.dask-<n>.part``
  in the output's bucket (container), written with the output's own client, so with the job's
  credential and endpoint (a gcp output on an emulator: ``STORAGE_EMULATOR_HOST`` of the
  process, as for the output itself).

Other output types have no part store (``open_part_store`` returns None): such jobs run
locally. Every store error is a ``ConnectorError`` naming the location, never a secret.
"""

from __future__ import annotations

import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from scorecast.connectors.base import ConnectorContext, OutputToken
from scorecast.connectors.registry import apply_template
from scorecast.connectors.safety import UnsafeLocationError, file_url_path
from scorecast.errors import ConnectorError

#: output types whose location can hold a job's parts
PART_STORE_TYPES = ("filesystem", "s3", "azure", "gcp")
_PART = "dask-"
_SUFFIX = ".part"


class PartStore(ABC):
    """A job attempt's parts, numbered from 0, at its output's location.

    ``put`` replaces a part whole (a retried task writes it again); ``get`` raises
    ``ConnectorError`` for a part that is not there; ``remove`` ignores one that is not;
    ``remove_others`` removes the parts other attempts of the job left (a dead attempt).
    """

    location: str

    @abstractmethod
    def put(self, index: int, data: bytes) -> None: ...

    @abstractmethod
    def get(self, index: int) -> bytes: ...

    @abstractmethod
    def remove(self, index: int) -> None: ...

    @abstractmethod
    def remove_others(self) -> None: ...


def _stem(name: str, token: OutputToken) -> str:
    """The start of the job's part names (of any attempt) after ``name``."""
    return f"{name}.scorecast-{token.job_id}."


def _part_name(name: str, token: OutputToken, index: int) -> str:
    return f"{_stem(name, token)}{token.attempt}.{_PART}{index:06d}{_SUFFIX}"


class _FileParts(PartStore):
    def __init__(self, url: str, path: Path, token: OutputToken) -> None:
        self.location, self._path, self._token = url, path, token

    def _file(self, index: int) -> Path:
        return self._path.parent / ("." + _part_name(self._path.name, self._token, index))

    def put(self, index: int, data: bytes) -> None:
        final = self._file(index)
        # written under a name of its own, then renamed: a part is never seen half-written
        staging = final.with_name(f"{final.name[: -len(_SUFFIX)]}-{uuid.uuid4().hex}{_SUFFIX}")
        try:
            with staging.open("wb") as handle:
                handle.write(data)
            os.replace(staging, final)
        except OSError as exc:
            staging.unlink(missing_ok=True)
            raise ConnectorError(f"{self.location}: writing part {index}: {exc.strerror}") from exc

    def get(self, index: int) -> bytes:
        try:
            return self._file(index).read_bytes()
        except OSError as exc:
            raise ConnectorError(f"{self.location}: reading part {index}: {exc.strerror}") from exc

    def remove(self, index: int) -> None:
        self._file(index).unlink(missing_ok=True)

    def remove_others(self) -> None:
        mine = f".{_stem(self._path.name, self._token)}{self._token.attempt}."
        for found in self._path.parent.glob(f".{_stem(self._path.name, self._token)}*{_SUFFIX}"):
            if _PART in found.name and not found.name.startswith(mine):
                found.unlink(missing_ok=True)


class _S3Parts(PartStore):
    def __init__(self, settings: Mapping[str, Any], ctx: ConnectorContext) -> None:
        from scorecast.connectors.s3 import _S3  # the s3 connector's client, with its checks

        assert ctx.output_token is not None
        self._store, self._token = _S3(settings, ctx), ctx.output_token
        self.location = self._store.url

    def _key(self, index: int) -> str:
        return _part_name(self._store.key, self._token, index)

    def _call(self, action: str, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._store.client, method)(Bucket=self._store.bucket, **kwargs)
        except Exception as exc:
            raise self._store.failure(action, exc) from exc

    def put(self, index: int, data: bytes) -> None:
        self._call(f"writing part {index}", "put_object", Key=self._key(index), Body=data)

    def get(self, index: int) -> bytes:
        answer = self._call(f"reading part {index}", "get_object", Key=self._key(index))
        return bytes(answer["Body"].read())

    def remove(self, index: int) -> None:
        self._call(f"removing part {index}", "delete_object", Key=self._key(index))

    def remove_others(self) -> None:
        stem = _stem(self._store.key, self._token)
        mine = f"{stem}{self._token.attempt}."
        store = self._store
        try:  # every page: a listing answers at most 1000 keys
            pages = store.client.get_paginator("list_objects_v2").paginate(
                Bucket=store.bucket, Prefix=stem
            )
            keys = [str(item["Key"]) for page in pages for item in page.get("Contents", [])]
        except Exception as exc:
            raise store.failure("listing parts", exc) from exc
        for key in keys:
            if _PART in key and key.endswith(_SUFFIX) and not key.startswith(mine):
                self._call("removing a dead attempt's part", "delete_object", Key=key)


class _AzureParts(PartStore):
    def __init__(self, settings: Mapping[str, Any], ctx: ConnectorContext) -> None:
        from scorecast.connectors.azure import _Blob  # the azure connector's client and checks

        assert ctx.output_token is not None
        self._store, self._token = _Blob(settings, ctx), ctx.output_token
        self.location = self._store.url

    def _name(self, index: int) -> str:
        return _part_name(self._store.blob_name, self._token, index)

    def _call(self, action: str, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self._store.container, method)(*args, **kwargs)
        except Exception as exc:
            raise self._store.failure(action, exc) from exc

    def put(self, index: int, data: bytes) -> None:
        self._call(f"writing part {index}", "upload_blob", self._name(index), data, overwrite=True)

    def get(self, index: int) -> bytes:
        action = f"reading part {index}"
        downloader = self._call(action, "download_blob", self._name(index))
        try:
            return bytes(downloader.readall())
        except Exception as exc:
            raise self._store.failure(action, exc) from exc

    def remove(self, index: int) -> None:
        self._delete(f"removing part {index}", self._name(index))

    def _delete(self, action: str, name: str) -> None:
        try:
            self._store.container.delete_blob(name)
        except Exception as exc:
            if type(exc).__name__ != "ResourceNotFoundError":
                raise self._store.failure(action, exc) from exc

    def remove_others(self) -> None:
        stem = _stem(self._store.blob_name, self._token)
        mine = f"{stem}{self._token.attempt}."
        try:
            names = [str(b.name) for b in self._store.container.list_blobs(name_starts_with=stem)]
        except Exception as exc:
            raise self._store.failure("listing parts", exc) from exc
        for name in names:
            if _PART in name and name.endswith(_SUFFIX) and not name.startswith(mine):
                self._delete("removing a dead attempt's part", name)


class _GcsParts(PartStore):
    def __init__(self, settings: Mapping[str, Any], ctx: ConnectorContext) -> None:
        from scorecast.connectors.gcp import _Gcs  # the gcp connector's client and checks

        assert ctx.output_token is not None
        self._store, self._token = _Gcs(settings, ctx), ctx.output_token
        self._bucket = self._store.client.bucket(self._store.bucket_name)
        self.location = self._store.url

    def _blob(self, index: int) -> Any:
        return self._bucket.blob(_part_name(self._store.name, self._token, index))

    def put(self, index: int, data: bytes) -> None:
        blob = self._blob(index)
        self._store.call(f"writing part {index}", blob.upload_from_string, data)

    def get(self, index: int) -> bytes:
        blob = self._blob(index)
        return bytes(self._store.call(f"reading part {index}", blob.download_as_bytes))

    def remove(self, index: int) -> None:
        self._delete(f"removing part {index}", self._blob(index))

    def _delete(self, action: str, blob: Any) -> None:
        try:
            blob.delete()
        except Exception as exc:
            if type(exc).__name__ != "NotFound":
                raise self._store.failure(action, exc) from exc

    def remove_others(self) -> None:
        stem = _stem(self._store.name, self._token)
        mine = f"{stem}{self._token.attempt}."
        found = self._store.call(
            "listing parts", lambda: list(self._store.client.list_blobs(self._bucket, prefix=stem))
        )
        for blob in found:
            name = str(blob.name)
            if _PART in name and name.endswith(_SUFFIX) and not name.startswith(mine):
                self._delete("removing a dead attempt's part", blob)


_OBJECT_STORES: dict[str, Callable[[Mapping[str, Any], ConnectorContext], PartStore]] = {
    "s3": _S3Parts,
    "azure": _AzureParts,
    "gcp": _GcsParts,
}


def open_part_store(settings: Mapping[str, Any], ctx: ConnectorContext) -> PartStore | None:
    """The part store at the output ``settings``' location (already validated by the output's
    opening), or None when its type has none or the job has no output token."""
    kind = settings.get("type")
    if kind not in PART_STORE_TYPES or ctx.output_token is None:
        return None
    filled = apply_template(settings, ctx.template)
    if kind in _OBJECT_STORES:
        return _OBJECT_STORES[kind](filled, ctx)
    url = str(filled["url"])
    try:
        path = file_url_path(url, ctx.app_settings.file_roots)
    except UnsafeLocationError as exc:
        raise ConnectorError(f"{url}: {exc}") from exc
    return _FileParts(url, path, ctx.output_token)
