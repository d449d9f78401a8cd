"""Reading Parquet files in bounded batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from scorecast.errors import InvalidInput
from scorecast.formats.batch_cutting import batches_of_about
from scorecast.formats.chunks import ChunkBytes, chunk_bytes_source

#: a dynamic size reads pieces of this fraction of the first batch and joins or slices them
_PIECES_PER_BATCH = 8


def iter_parquet_batches(source: Any, target_bytes: ChunkBytes) -> Iterator[pa.RecordBatch]:
    """Yield a Parquet file's rows in order, in batches of about ``target_bytes`` of decoded data.

    ``source`` is a path, a seekable binary file-like or a pyarrow NativeFile. A fixed size is
    turned into a row count with the file's average uncompressed row size. A callable size
    (dynamic) is asked before each batch, and batches are cut to that many Arrow bytes from
    pieces of 1/``_PIECES_PER_BATCH`` of the first size (see ``batches_of_about``).
    """
    try:
        parquet = pq.ParquetFile(source)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInput(f"not a readable Parquet file: {exc}") from exc
    metadata = parquet.metadata
    rows = max(metadata.num_rows, 1)
    uncompressed = sum(
        metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups)
    )
    row_bytes = max(uncompressed / rows, 1.0)
    if not callable(target_bytes):
        batch_rows = max(int(target_bytes / row_bytes), 1)
        yield from parquet.iter_batches(batch_size=batch_rows)
        return
    size_of_next = chunk_bytes_source(target_bytes)
    asked = [size_of_next()]
    piece_rows = max(int(asked[0] / _PIECES_PER_BATCH / row_bytes), 1)

    def size() -> int:
        return asked.pop() if asked else size_of_next()

    yield from batches_of_about(parquet.iter_batches(batch_size=piece_rows), size)
