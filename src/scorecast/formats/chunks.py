"""The units of input the engine scores: a ``CsvBlock`` of whole CSV lines (parsed in the scoring
workers) or a decoded ``pyarrow.RecordBatch``, and how many input bytes a chunk holds."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from scorecast.domain.csv_settings import CsvSettings

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class CsvBlock:
    """Whole CSV lines (``data``) to be parsed with ``header`` as their first line."""

    header: bytes
    data: bytes | bytearray
    settings: CsvSettings
    column_types: Mapping[str, pa.DataType] | None = None

    @property
    def nbytes(self) -> int:
        return len(self.data)


Chunk: TypeAlias = "CsvBlock | pa.RecordBatch"

#: Input bytes per chunk: fixed, or asked before each chunk (``ChunkSizer.next_bytes``).
ChunkBytes: TypeAlias = int | Callable[[], int]


def chunk_bytes_source(target_bytes: ChunkBytes) -> Callable[[], int]:
    """Ask this before cutting each chunk: the size in bytes (at least 1)."""
    if callable(target_bytes):
        ask = target_bytes
        return lambda: max(int(ask()), 1)
    fixed = max(int(target_bytes), 1)
    return lambda: fixed
