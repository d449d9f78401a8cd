"""Spooling an uploaded file (a dataset version, a model artifact) to a local temporary file.

An upload is checked (loaded, inspected) from a local file before it is kept in the storage
(``connectors.storage``); the file is under the home's cache folder and is removed when the
``with`` block ends, whatever happens.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from scorecast import home_layout
from scorecast.config import Settings

#: Bytes read from the upload per write.
COPY_BLOCK = 1 << 20


def copy_upload(stream: BinaryIO, target: Path) -> int:
    """Write ``stream`` to its end into ``target`` (created or truncated); the bytes written."""
    size = 0
    with target.open("wb") as out:
        while block := stream.read(COPY_BLOCK):
            out.write(block)
            size += len(block)
    return size


@contextmanager
def spooled_upload(settings: Settings, stream: BinaryIO, suffix: str) -> Iterator[tuple[Path, int]]:
    """``stream`` copied to a fresh local file ending in ``suffix``: (the file, its size)."""
    folder = home_layout.incoming_folder(settings.home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"upload-{os.urandom(8).hex()}{suffix}"
    try:
        yield path, copy_upload(stream, path)
    finally:
        path.unlink(missing_ok=True)
