"""``LocalBlobStore``: the storage as a local folder (by default the server's home).

A key is a path under the root; writes go to a hidden temporary file in the same folder that
is renamed into place (whole or nothing). Every key is checked to stay inside the root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import BinaryIO, cast

from scorecast.connectors.storage.base import BLOCK_BYTES, BlobMissing, StorageError


class LocalBlobStore:
    """See the module docstring."""

    def __init__(self, root: Path, folders: tuple[str, ...] = ()) -> None:
        self.root = root
        self.location = str(root)
        #: folders under the root that ``check`` requires writable (created by ``prepare``)
        self.folders = folders

    def prepare(self) -> None:
        """Create the root and its folders (on a server's start); ``StorageError`` naming the
        folder when a file is in its way or it cannot be created."""
        for folder in (self.root, *(self.root / name for name in self.folders)):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise StorageError(f"{folder}: not a folder (a file is in the way)") from None
            except OSError as exc:
                raise StorageError(f"{folder}: cannot create the folder: {exc.strerror}") from None

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if (
            not key
            or any(part in ("", ".", "..") for part in parts[:-1])
            or parts[-1]
            in (
                ".",
                "..",
            )
        ):
            raise StorageError(f"{self.location}: not a storage key: {key!r}")
        return self.root.joinpath(*[p for p in parts if p])

    def _temporary(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")

    def put(self, key: str, source: BinaryIO) -> int:
        path = self._path(key)
        temporary = self._temporary(path)
        size = 0
        try:
            with temporary.open("wb") as out:
                while block := source.read(BLOCK_BYTES):
                    out.write(block)
                    size += len(block)
            os.replace(temporary, path)
        except OSError as exc:
            raise StorageError(f"{self.location}: writing {key}: {exc.strerror}") from exc
        finally:
            temporary.unlink(missing_ok=True)
        return size

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        temporary = self._temporary(path)
        try:
            temporary.write_bytes(data)
            os.replace(temporary, path)
        except OSError as exc:
            raise StorageError(f"{self.location}: writing {key}: {exc.strerror}") from exc
        finally:
            temporary.unlink(missing_ok=True)

    def open_from(self, key: str, start: int = 0) -> BinaryIO:
        try:
            handle = self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise BlobMissing(f"{self.location}: {key} does not exist") from exc
        except OSError as exc:
            raise StorageError(f"{self.location}: reading {key}: {exc.strerror}") from exc
        if start:
            handle.seek(start)
        return cast(BinaryIO, handle)

    def read_bytes(self, key: str) -> bytes:
        with self.open_from(key) as handle:
            return handle.read()

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"{self.location}: {key}: {exc.strerror}") from exc

    def keys(self, prefix: str) -> list[str]:
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base = self._path(folder) if folder else self.root
        if not base.is_dir():
            return []
        found = []
        for current, _, names in os.walk(base):
            for name in names:
                if name.startswith("."):
                    continue  # temporary files being written
                key = (Path(current) / name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        return sorted(found)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def delete_prefix(self, prefix: str) -> None:
        if prefix.endswith("/"):
            shutil.rmtree(self._path(prefix.rstrip("/")), ignore_errors=True)
            return
        for key in self.keys(prefix):
            self.delete(key)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def check(self) -> None:
        for folder in (self.root, *(self.root / name for name in self.folders)):
            if not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
                raise StorageError(f"{folder}: not a writable folder")
