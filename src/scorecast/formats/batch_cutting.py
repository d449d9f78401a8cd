"""Re-cutting a stream of record batches into batches of a requested size in Arrow bytes."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa


def batches_of_about(
    pieces: Iterable[pa.RecordBatch], size_of_next: Callable[[], int]
) -> Iterator[pa.RecordBatch]:
    """The rows of ``pieces`` in order, as batches of about ``size_of_next()`` Arrow bytes each.

    ``size_of_next`` is asked once before each batch. A batch is made of whole pieces, plus a
    zero-copy slice of the piece that crosses the size (the rest of it starts the next batch),
    concatenated; pieces of another schema than the batch's first are never merged into it.
    Memory: the batch being built plus one piece.
    """
    held: deque[pa.RecordBatch] = deque()
    source = iter(pieces)
    exhausted = False

    def pull() -> None:
        nonlocal exhausted
        piece = next(source, None)
        if piece is None:
            exhausted = True
        elif piece.num_rows:
            held.append(piece)

    while True:
        while not held and not exhausted:  # ask a size only when there are rows left
            pull()
        if not held:
            return
        target = max(size_of_next(), 1)
        while not exhausted and sum(map(_nbytes, held)) < target:
            pull()
        parts: list[pa.RecordBatch] = []
        taken = 0
        while held and taken < target:
            first = held[0]
            if parts and not first.schema.equals(parts[0].schema):
                break
            if taken + _nbytes(first) <= target:
                parts.append(held.popleft())
            else:
                rows = math.ceil((target - taken) / (_nbytes(first) / first.num_rows))
                rows = min(rows, first.num_rows)
                parts.append(first.slice(0, rows))
                if rows < first.num_rows:
                    held[0] = first.slice(rows)
                else:
                    held.popleft()
            taken += _nbytes(parts[-1])
        yield parts[0] if len(parts) == 1 else pa.concat_batches(parts)


def _nbytes(batch: pa.RecordBatch) -> int:
    """Arrow bytes of a batch, at least one per row (a column of nulls has no buffers)."""
    return max(int(batch.nbytes), int(batch.num_rows))
