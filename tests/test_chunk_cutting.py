"""Chunks whose size changes from one to the next: CSV blocks, Parquet and re-cut batches."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from scorecast.domain.csv_settings import CsvSettings
from scorecast.formats import batches_of_about, iter_csv_blocks, iter_parquet_batches


class Asked:
    """A dynamic size: answers ``sizes`` in turn (the last one ever after), records each ask."""

    def __init__(self, sizes: list[int]) -> None:
        self.sizes, self.asked = sizes, list[int]()

    def __call__(self) -> int:
        size = self.sizes[min(len(self.asked), len(self.sizes) - 1)]
        self.asked.append(size)
        return size


@settings(max_examples=examples(150), deadline=None)
@given(
    st.lists(st.integers(0, 10**9), min_size=1, max_size=300),
    st.lists(st.integers(1, 400), min_size=1, max_size=40),
)
def test_csv_blocks_follow_each_asked_size_and_keep_every_record(
    values: list[int], sizes: list[int]
) -> None:
    body = b"".join(b"%d\n" % value for value in values)
    longest = max(len(b"%d\n" % value) for value in values)
    ask = Asked(sizes)
    blocks = list(iter_csv_blocks(io.BytesIO(b"n\n" + body), CsvSettings(), ask))
    assert b"".join(block.data for block in blocks) == body
    for index, (block, size) in enumerate(zip(blocks, ask.asked, strict=False)):
        assert block.nbytes <= max(size, longest)  # one record longer than the size: alone
        if index < len(blocks) - 1:
            assert block.nbytes > size - longest  # the next record would not have fitted


pieces_rows = st.lists(st.integers(1, 50), min_size=0, max_size=30)


@settings(deadline=None)
@given(pieces_rows, st.lists(st.integers(1, 600), min_size=1, max_size=30))
def test_recut_batches_have_the_asked_size_within_one_row_and_keep_the_order(
    rows_per_piece: list[int], sizes: list[int]
) -> None:
    starts = [sum(rows_per_piece[:i]) for i in range(len(rows_per_piece))]
    pieces = [
        pa.record_batch({"v": pa.array(range(start, start + rows), pa.int64())})
        for start, rows in zip(starts, rows_per_piece, strict=True)
    ]
    ask = Asked(sizes)
    batches = list(batches_of_about(pieces, ask))
    values = [v for batch in batches for v in batch.column("v").to_pylist()]
    assert values == list(range(sum(rows_per_piece)))
    for index, (batch, size) in enumerate(zip(batches, ask.asked, strict=False)):
        assert batch.num_rows > 0
        assert batch.nbytes < size + 8  # 8 bytes per row
        if index < len(batches) - 1:
            assert batch.nbytes >= size


def test_pieces_of_another_schema_start_a_new_batch() -> None:
    ints = pa.record_batch({"v": pa.array([1, 2], pa.int64())})
    texts = pa.record_batch({"v": pa.array(["a", "b"])})
    batches = list(batches_of_about([ints, ints, texts, ints], lambda: 1 << 20))
    assert [b.num_rows for b in batches] == [4, 2, 2]
    assert [b.schema.field("v").type for b in batches] == [pa.int64(), pa.string(), pa.int64()]


def test_rows_of_nulls_count_one_byte_each_so_a_batch_stays_bounded() -> None:
    nulls = pa.record_batch({"v": pa.nulls(100)})
    assert nulls.nbytes == 0
    batches = list(batches_of_about([nulls] * 10, lambda: 250))
    assert [b.num_rows for b in batches] == [250, 250, 250, 250]


def _parquet(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "rows.parquet"
    table = pa.table({"id": pa.array(range(rows), pa.int64()), "x": [i / 7 for i in range(rows)]})
    pq.write_table(table, path, row_group_size=3_000)
    return path


def test_parquet_batches_follow_a_size_that_changes(tmp_path: Path) -> None:
    path = _parquet(tmp_path, 20_000)
    ask = Asked([16_000, 16_000, 64_000, 4_000, 32_000])  # about 16 Arrow bytes per row
    batches = list(iter_parquet_batches(path, ask))
    assert [v for b in batches for v in b.column("id").to_pylist()] == list(range(20_000))
    for batch, size in zip(batches[:-1], ask.asked, strict=False):
        # pieces read from the file carry a little per-batch overhead (validity bitmaps)
        assert 0.95 * size <= batch.nbytes <= size + 16
    assert ask.asked[:6] == [16_000, 16_000, 64_000, 4_000, 32_000, 32_000]


def test_parquet_with_a_fixed_size_reads_rows_of_that_size(tmp_path: Path) -> None:
    path = _parquet(tmp_path, 20_000)
    sizes = {b.num_rows for b in iter_parquet_batches(path, 32_000)}
    meta = pq.ParquetFile(path).metadata
    row_bytes = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)) / 20_000
    assert max(sizes) == int(32_000 / row_bytes)  # as before dynamic sizes: by the metadata


_unquoted_fields = st.text(alphabet='a"', max_size=4).filter(lambda text: not text.startswith('"'))
_quoted_fields = st.tuples(
    st.text(alphabet='a,\n"', max_size=5),
    _unquoted_fields,  # the bytes after the closing quote (a quote there would double it)
)
_fields = st.one_of(
    _unquoted_fields,
    _quoted_fields.map(lambda parts: '"' + parts[0].replace('"', '""') + '"' + parts[1]),
)


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(
        st.lists(_fields, min_size=1, max_size=4).filter(lambda row: row != [""]),
        min_size=1,
        max_size=12,
    ),
    st.integers(1, 40),
)
def test_csv_blocks_end_where_the_csv_module_ends_records_whatever_the_quotes(
    rows: list[list[str]], size: int
) -> None:
    """A quote inside a field (``5" screen``, or after a closing quote) is a character, as the
    csv module and pyarrow read it: it neither opens a field nor moves a cut into one."""
    body = "".join(",".join(row) + "\n" for row in rows)
    blocks = list(iter_csv_blocks(io.BytesIO(b"h\n" + body.encode()), CsvSettings(), size))
    assert b"".join(block.data for block in blocks) == body.encode()
    whole = list(csv.reader(io.StringIO(body, newline="")))
    cut = [
        row
        for block in blocks
        for row in csv.reader(io.StringIO(bytes(block.data).decode(), newline=""))
    ]
    assert cut == whole
