"""Reading Parquet files in bounded batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from scorecast.errors import InvalidInput


def iter_parquet_batches(source: Any, target_bytes: int) -> Iterator[pa.RecordBatch]:
    """Yield a Parquet file's rows in order, in batches of about ``target_bytes`` of decoded data.

    ``source`` is a path, a seekable binary file-like or a pyarrow NativeFile. The row count per
    batch comes from the file's average uncompressed row size.
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
    batch_rows = max(int(target_bytes / row_bytes), 1)
    yield from parquet.iter_batches(batch_size=batch_rows)
