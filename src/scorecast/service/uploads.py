"""Storing an uploaded file (a dataset version, a model artifact) under the service's home."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

#: Bytes read from the upload per write.
COPY_BLOCK = 1 << 20


def copy_upload(stream: BinaryIO, target: Path) -> int:
    """Write ``stream`` to its end into ``target`` (created or truncated); the bytes written.

    The caller removes ``target`` when the upload turns out bad (empty, unreadable).
    """
    size = 0
    with target.open("wb") as out:
        while block := stream.read(COPY_BLOCK):
            out.write(block)
            size += len(block)
    return size
