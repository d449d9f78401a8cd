"""The file layer: CSV and Parquet in, CSV and Parquet out, in bounded memory.

Reading CSV is split in two so that the expensive parse runs in the scoring workers:

- ``iter_csv_blocks`` (in the reader) cuts the byte stream into blocks of whole records, each
  about ``target_bytes``, never holding more than one block plus one read buffer (a single
  record longer than a block is held whole, and nothing more).
  A callable ``target_bytes`` (a dynamic chunk size) is asked before each block; Parquet and
  SQL batches are re-cut to such sizes by ``batches_of_about``.
- ``decode_csv_block`` (pure, in a worker) parses one block as a whole buffer with pyarrow,
  which is several times faster than pyarrow's streaming reader. A block that pyarrow refuses
  (a ragged row, a value of the wrong type) is parsed again row by row so that only the bad rows
  fail: they are kept in place, with their error in the ``ROW_ERROR_COLUMN`` column.

Encodings: ASCII-compatible codecs (utf-8, latin-1, cp1252, shift_jis, ...) are cut as bytes in
the source encoding and decoded per block; codecs whose newline is not the byte ``\\n``
(utf-16, utf-32) are transcoded to UTF-8 while reading, and their blocks say ``utf-8``.
A UTF-8 byte-order mark is dropped from the header.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scorecast.domain.output_names import ROW_ERROR_COLUMN
    from scorecast.formats.batch_cutting import batches_of_about
    from scorecast.formats.csv_blocks import (
        CsvHeader,
        csv_data_start,
        iter_csv_blocks,
        parse_header,
        read_csv_header,
    )
    from scorecast.formats.csv_decode import decode_csv_block
    from scorecast.formats.encoders import Encoder, open_encoder
    from scorecast.formats.parquet_batches import iter_parquet_batches

# Loaded on first use: the chunk types (``scorecast.formats.chunks``) are imported by modules of
# the service process, which must not load pyarrow for them.
_WHERE = {
    "ROW_ERROR_COLUMN": "scorecast.domain.output_names",
    "batches_of_about": "scorecast.formats.batch_cutting",
    "CsvHeader": "scorecast.formats.csv_blocks",
    "csv_data_start": "scorecast.formats.csv_blocks",
    "iter_csv_blocks": "scorecast.formats.csv_blocks",
    "parse_header": "scorecast.formats.csv_blocks",
    "read_csv_header": "scorecast.formats.csv_blocks",
    "decode_csv_block": "scorecast.formats.csv_decode",
    "Encoder": "scorecast.formats.encoders",
    "open_encoder": "scorecast.formats.encoders",
    "iter_parquet_batches": "scorecast.formats.parquet_batches",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "ROW_ERROR_COLUMN",
    "CsvHeader",
    "Encoder",
    "batches_of_about",
    "csv_data_start",
    "decode_csv_block",
    "iter_csv_blocks",
    "iter_parquet_batches",
    "open_encoder",
    "parse_header",
    "read_csv_header",
]
