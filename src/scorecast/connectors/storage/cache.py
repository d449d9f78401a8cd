"""Local copies of stored files that a job reads whole (model artifacts).

``local_copy(settings, key)`` is the file itself when the storage is a local folder, else a copy
under the home's ``cache/`` (``home_layout.cache_folder``), downloaded once per server in blocks
to a temporary name and renamed into place, so that concurrent jobs never see half a file.
Stored artifacts are never rewritten under the same key (a new registration is a new
deployment id), so a copy stays valid while its key exists; ``forget`` drops it, and the whole
cache may be deleted at any time.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from scorecast import home_layout
from scorecast.config import Settings
from scorecast.connectors.storage import BlobMissing, StorageError, open_storage
from scorecast.connectors.storage.base import BLOCK_BYTES


def _cached(settings: Settings, key: str) -> Path:
    parts = [part for part in key.split("/") if part]
    if not parts or any(part in (".", "..") for part in parts):
        raise StorageError(f"not a storage key: {key!r}")
    return home_layout.cache_folder(settings.home).joinpath(*parts)


def local_copy(settings: Settings, key: str) -> Path:
    """A local file with the object's bytes (see the module docstring); ``BlobMissing`` when
    the object does not exist."""
    store = open_storage(settings)
    direct = store.local_path(key)
    if direct is not None:
        if not direct.is_file():
            raise BlobMissing(f"{store.location}: {key} does not exist")
        return direct
    path = _cached(settings, key)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.urandom(6).hex()}.part")
    try:
        with store.open_from(key) as source, temporary.open("wb") as out:
            shutil.copyfileobj(source, out, BLOCK_BYTES)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def forget(settings: Settings, prefix: str) -> None:
    """Drop this server's cached copies under ``prefix`` (a deleted deployment's)."""
    shutil.rmtree(_cached(settings, prefix.rstrip("/")), ignore_errors=True)
