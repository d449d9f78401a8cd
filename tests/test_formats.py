"""The file layer: CSV blocks cut at record boundaries, decoding, encodings, encoders."""

from __future__ import annotations

import csv
import io
import random
import tracemalloc
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from scorecast.domain.csv_settings import CsvSettings
from scorecast.errors import InvalidInput
from scorecast.formats import (
    ROW_ERROR_COLUMN,
    decode_csv_block,
    iter_csv_blocks,
    iter_parquet_batches,
    open_encoder,
    parse_header,
    read_csv_header,
)
from scorecast.formats.chunks import CsvBlock

UTF8 = CsvSettings()

cells = st.one_of(
    st.text(alphabet='ab,"\n é;\t', max_size=8),
    st.integers(-1000, 1000).map(str),
)


def _csv_bytes(rows: list[list[str]], settings: CsvSettings = UTF8, crlf: bool = False) -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(
        text,
        delimiter=settings.delimiter,
        quotechar=settings.quotechar,
        lineterminator="\r\n" if crlf else "\n",
        quoting=csv.QUOTE_MINIMAL,
    )
    writer.writerows(rows)
    return text.getvalue().encode(settings.encoding)


def _blocks(data: bytes, target: int, settings: CsvSettings = UTF8) -> list[CsvBlock]:
    return list(iter_csv_blocks(io.BytesIO(data), settings, target))


def _rows(blocks: list[CsvBlock], types: dict[str, pa.DataType] | None = None) -> list[dict]:
    rows: list[dict] = []
    for block in blocks:
        rows.extend(decode_csv_block(replace(block, column_types=types)).to_pylist())
    return rows


@settings(max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    rows=st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=30),
    target=st.integers(1, 200),
    crlf=st.booleans(),
    trailing_newline=st.booleans(),
)
def test_blocks_hold_whole_records_and_decode_like_the_whole_file(
    rows: list[list[str]], target: int, crlf: bool, trailing_newline: bool
) -> None:
    data = _csv_bytes([["a", "b", "c"], *rows], crlf=crlf)
    if not trailing_newline:
        data = data.rstrip(b"\r\n")
    blocks = _blocks(data, target)
    header_end = data.index(b"\n") + 1
    assert b"".join(b.data for b in blocks) == data[header_end:]
    string_types = dict.fromkeys("abc", pa.string())
    whole = pacsv.read_csv(
        io.BytesIO(data),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=string_types, strings_can_be_null=True, quoted_strings_can_be_null=True
        ),
    )
    expected = [r for r in whole.to_pylist() if any(v is not None for v in r.values())]
    got = [
        {k: v for k, v in r.items() if k != ROW_ERROR_COLUMN}
        for r in _rows(blocks, string_types)
        if any(v is not None for k, v in r.items() if k != ROW_ERROR_COLUMN)
    ]
    assert got == expected


def test_block_size_is_about_the_target() -> None:
    data = _csv_bytes([["a", "b"]] + [[str(i), "x" * 50] for i in range(2000)])
    blocks = _blocks(data, 10_000)
    assert len(blocks) > 5
    assert all(len(b.data) <= 10_000 for b in blocks)
    assert [r["a"] for r in _rows(blocks)] == list(range(2000))


def test_crlf_and_missing_trailing_newline() -> None:
    blocks = _blocks(b"a,b\r\n1,x\r\n2,y", 4)
    assert _rows(blocks) == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]


def test_empty_file_and_header_only_yield_no_block_but_the_header_is_readable() -> None:
    assert _blocks(b"", 100) == []
    assert _blocks(b"a,b\n", 100) == []
    assert _blocks(b"a,b", 100) == []
    assert read_csv_header(io.BytesIO(b""), UTF8) is None
    header = read_csv_header(io.BytesIO(b"\xef\xbb\xbfa,b\r\n"), UTF8)
    assert header is not None and header.names == ["a", "b"]


def test_quoted_header_and_tab_delimiter() -> None:
    settings = CsvSettings(delimiter="\t")
    data = b'"first name"\t"x\ty"\n1\t2\n'
    assert parse_header(data.split(b"\n")[0], settings) == ["first name", "x\ty"]
    assert _rows(_blocks(data, 100, settings)) == [{"first name": 1, "x\ty": 2}]


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16", "shift_jis"])
def test_non_utf8_encodings_decode_to_the_same_text(encoding: str) -> None:
    settings = CsvSettings(delimiter=";", encoding=encoding)
    rows = [["name", "n"], ["Zoë", "1"], ["façade", "2"]]
    if encoding == "shift_jis":
        rows = [["name", "n"], ["日本", "1"], ["東京", "2"]]
    data = _csv_bytes(rows, settings)
    blocks = _blocks(data, 3, settings)
    assert [r["name"] for r in _rows(blocks)] == [rows[1][0], rows[2][0]]


def test_quotechar_setting() -> None:
    settings = CsvSettings(quotechar="'")
    blocks = _blocks(b"a,b\n'x,\ny',1\n", 2, settings)
    assert _rows(blocks) == [{"a": "x,\ny", "b": 1}]


def test_ragged_rows_and_wrong_types_become_row_errors_in_place() -> None:
    data = b"a,b\n1,x\n2\n3,y,extra\nnot-a-number,z\n5,w\n"
    rows = _rows(_blocks(data, 1000), {"a": pa.float64(), "b": pa.string()})
    assert [r["a"] for r in rows] == [1.0, 2.0, 3.0, None, 5.0]
    errors = [r[ROW_ERROR_COLUMN] for r in rows]
    assert errors[0] is None and errors[4] is None
    assert "1 fields" in errors[1] and "3 fields" in errors[2]
    assert "not-a-number" in errors[3]


def test_invalid_utf8_bytes_fail_only_their_row() -> None:
    rows = _rows(_blocks(b"a,b\n1,ok\n2,\xff\xfe\n", 100))
    assert rows[0][ROW_ERROR_COLUMN] is None
    assert "not valid utf-8" in rows[1][ROW_ERROR_COLUMN]


@pytest.mark.parametrize(("encoding", "invalid"), [("utf-8", b"\xff"), ("utf-16-le", b"\x00\xdc")])
def test_a_valid_replacement_character_is_kept_beside_an_invalid_byte(
    encoding: str, invalid: bytes
) -> None:
    """U+FFFD is a character like any other: only the row whose bytes are invalid fails."""
    settings = CsvSettings(encoding=encoding)
    data = "a,b\n1,ok \ufffd\n2,x".encode(encoding) + invalid + "\n3,z\n".encode(encoding)
    rows = _rows(_blocks(data, 1000, settings))
    assert [row["b"] for row in rows] == ["ok \ufffd", "x\ufffd", "z"]
    assert rows[0][ROW_ERROR_COLUMN] is None and rows[2][ROW_ERROR_COLUMN] is None
    assert f"is not valid {encoding}" in rows[1][ROW_ERROR_COLUMN]


def test_consistent_types_across_blocks_when_given() -> None:
    data = b"a,b\n1,x\n\n2.5,\n,z\n"
    types = {"a": pa.float64(), "b": pa.string()}
    batches = [decode_csv_block(replace(b, column_types=types)) for b in _blocks(data, 4)]
    assert {b.schema for b in batches} == {pa.schema({"a": pa.float64(), "b": pa.string()})}


def test_a_record_longer_than_the_block_is_held_alone_without_extra_memory(
    tmp_path: Path,
) -> None:
    size = 200 * 1024 * 1024
    path = tmp_path / "long.csv"
    with path.open("wb") as handle:
        handle.write(b"a,b\n1,short\n2,")
        piece = b"x" * (1 << 20)
        for _ in range(size // len(piece)):
            handle.write(piece)
        handle.write(b"\n3,after\n")
    tracemalloc.start()
    try:
        lengths = []
        with path.open("rb") as handle:
            for block in iter_csv_blocks(handle, UTF8, 1 << 20):
                lengths.append(len(block.data))
                del block
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(lengths) == 3
    assert lengths[1] > size
    # the line itself, once as the read buffer and once as the block's bytes, and no more
    assert peak < 2 * size + (40 << 20), peak


def test_binary_garbage_does_not_crash_the_reader() -> None:
    data = random.Random(0).randbytes(300_000)
    for block in _blocks(data, 50_000):
        batch = decode_csv_block(block)
        assert batch.num_rows >= 0


def test_unknown_encoding_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="encoding"):
        _blocks(b"a\n1\n", 10, CsvSettings(encoding="no-such-codec"))


@pytest.mark.parametrize(
    "settings",
    [
        CsvSettings(),
        CsvSettings(delimiter="\t"),
        CsvSettings(delimiter=";", encoding="latin-1"),
        CsvSettings(quotechar="'"),
        CsvSettings(encoding="utf-16"),
    ],
)
def test_csv_encoder_round_trips(settings: CsvSettings) -> None:
    batch = pa.record_batch(
        {"name": ["Zoë", 'say "hi"', "a;b\tc", None], "value": [1.5, None, -2.0, 3.25]}
    )
    sink = io.BytesIO()
    encoder = open_encoder("csv", settings, sink)
    encoder.write(batch.slice(0, 2))
    encoder.write(batch.slice(2))
    encoder.close()
    assert encoder.bytes_written == len(sink.getvalue())
    rows = _rows(_blocks(sink.getvalue(), 1000, settings))
    assert [r["name"] for r in rows] == batch.column("name").to_pylist()
    assert [r["value"] for r in rows] == batch.column("value").to_pylist()


def test_parquet_encoder_and_batches(tmp_path: Path) -> None:
    batch = pa.record_batch({"x": list(range(10_000)), "s": ["v"] * 10_000})
    path = tmp_path / "out.parquet"
    with path.open("wb") as sink:
        encoder = open_encoder("parquet", UTF8, sink)
        for start in range(0, 10_000, 3000):
            encoder.write(batch.slice(start, 3000))
        encoder.close()
    assert pq.read_table(path).num_rows == 10_000
    with path.open("rb") as source:
        batches = list(iter_parquet_batches(source, 10_000))
    assert len(batches) > 3
    assert [v for b in batches for v in b.column("x").to_pylist()] == list(range(10_000))


def test_a_non_parquet_file_is_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(InvalidInput, match="Parquet"):
        list(iter_parquet_batches(path, 100))


@settings(max_examples=examples(200), suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b\nc", '"q"\n', "x,y", "\n\n", ""]),
            st.integers(-(2**63), 2**63 - 1),
        ),
        min_size=1,
        max_size=200,
    ),
    parse_block=st.integers(64, 4096),
)
def test_quoted_newlines_never_corrupt_rows_whatever_pyarrow_block_size(
    rows: list[tuple[str, int]], parse_block: int
) -> None:
    from scorecast.formats import csv_decode as formats

    data = _csv_bytes([["t", "n"], *[[t, str(n)] for t, n in rows]])
    (block,) = _blocks(data, len(data) + 1)
    saved = formats.PARSE_BLOCK_BYTES
    formats.PARSE_BLOCK_BYTES = parse_block
    try:
        got = decode_csv_block(replace(block, column_types={"t": pa.string(), "n": pa.int64()}))
    finally:
        formats.PARSE_BLOCK_BYTES = saved
    assert got.column("t").to_pylist() == [t or None for t, _ in rows]
    assert got.column("n").to_pylist() == [n for _, n in rows]


@settings(max_examples=examples(500), deadline=None)
@given(
    data=st.one_of(
        st.text(alphabet="aé€😀,\n").map(str.encode),
        st.binary(max_size=40),
        # an encoded surrogate, an overlong form, a code point past U+10FFFF, a cut sequence
        st.sampled_from([b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xe2\x82"]).map(
            lambda bad: b"ok," + bad + b"\n"
        ),
    )
)
def test_utf8_is_checked_exactly_as_python_decodes(data: bytes) -> None:
    from scorecast.formats import csv_decode

    try:
        data.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    try:
        csv_decode._check_utf8(data)
        checked = True
    except UnicodeDecodeError:
        checked = False
    assert checked == valid


def test_a_long_unquoted_ragged_line_keeps_its_fields_in_bounded_memory() -> None:
    size = 64 << 20
    data = b"1,a\n" + b"7" * size + b"\n2,b\n"
    (block,) = _blocks(b"n,t\n" + data, len(data) + 10)
    tracemalloc.start()
    try:
        batch = decode_csv_block(replace(block, column_types={"n": pa.string()}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rows = batch.to_pylist()
    assert [r["t"] for r in rows] == ["a", None, "b"]
    assert len(rows[1]["n"]) == size  # passed through whole
    assert rows[1][ROW_ERROR_COLUMN] == "row has 1 fields, the header has 2"
    # the line as text and its one field (the csv module would hold it at 4 bytes a character)
    assert peak < 2.5 * size, peak


def test_an_over_long_quoted_field_fails_its_row_only() -> None:
    from scorecast.formats.csv_decode import CAREFUL_FIELD_LIMIT

    long_field = b'"' + b"q" * (CAREFUL_FIELD_LIMIT + 1) + b'"'
    data = b"n,t\n1,a\n2\n3," + long_field + b"\n4,d\n"
    (block,) = _blocks(data, len(data) + 1)
    rows = decode_csv_block(replace(block, column_types={"n": pa.float64()})).to_pylist()
    assert [r["n"] for r in rows] == [1.0, 2.0, None, 4.0]
    errors = [r[ROW_ERROR_COLUMN] for r in rows]
    assert errors[0] is None and errors[3] is None
    assert "1 fields" in errors[1]
    assert "cannot be read as CSV" in errors[2] and "field larger than field limit" in errors[2]


def test_a_long_bad_value_is_shown_cut_in_its_row_error() -> None:
    data = b"n\n1\n" + b"x" * 5000 + b"\n"
    rows = _rows(_blocks(data, len(data) + 1), {"n": pa.float64()})
    error = rows[1][ROW_ERROR_COLUMN]
    assert len(error) < 200 and "5,000 characters" in error and "is not a valid double" in error


def test_an_unclosed_quote_fails_its_row_and_the_rows_after_it_are_read() -> None:
    from scorecast.formats.csv_decode import UNCLOSED_QUOTE_ERROR

    lines = [b"id,n,t\n"] + [b"r%d,%d,x\n" % (i, i) for i in range(1000)]
    lines[6] = b'r5,5,"red\n'  # pyarrow reads the other 994 rows into this field
    data = b"".join(lines)
    for target in (len(data) + 1, 64):
        rows = _rows(_blocks(data, target), {"n": pa.int64()})
        assert [r["n"] for r in rows] == list(range(1000))
        assert rows[5]["id"] == "r5" and rows[5]["t"] == "red"  # the line's fields, shown
        errors = [r.get(ROW_ERROR_COLUMN) for r in rows]
        assert [e for e in errors if e] == [UNCLOSED_QUOTE_ERROR] and errors[5]
        assert (rows[6]["id"], rows[6]["t"]) == ("r6", "x")


def test_a_quote_inside_a_field_is_a_character_and_blocks_stay_small() -> None:
    """A quote opens a quoted field only at the start of a field (as pyarrow and the csv
    module read it): ``5" screen`` does not make the rest of the file one block."""
    body = b'r0,5" screen\n' + b"".join(b"r%d,plain\n" % i for i in range(1, 5000))
    blocks = _blocks(b"id,t\n" + body, 4096)
    assert b"".join(b.data for b in blocks) == body
    assert max(b.nbytes for b in blocks) <= 4096
    rows = _rows(blocks)
    assert len(rows) == 5000 and rows[0]["t"] == '5" screen' and rows[1]["t"] == "plain"


def test_a_quote_that_never_closes_ends_its_row_at_its_line_end_within_a_bounded_span() -> None:
    from scorecast.formats.csv_blocks import UNCLOSED_QUOTE_SPAN
    from scorecast.formats.csv_decode import UNCLOSED_QUOTE_ERROR

    row = b"2," + b"y" * (256 << 10) + b"\n"
    count = UNCLOSED_QUOTE_SPAN // len(row) + 8
    data = b'n,t\n1,a\n3,"open\n' + row * count
    target = 4 << 20
    sizes, errors, rows = [], [], 0
    for block in _blocks(data, target):
        sizes.append(block.nbytes)
        batch = decode_csv_block(replace(block, column_types={"n": pa.int64()}))
        rows += batch.num_rows
        if ROW_ERROR_COLUMN in batch.schema.names:
            errors += [e for e in batch.column(ROW_ERROR_COLUMN).to_pylist() if e]
    assert max(sizes) <= target  # not one block of everything after the quote
    assert rows == count + 2 and errors == [UNCLOSED_QUOTE_ERROR]


def test_a_header_with_a_quote_inside_a_name_is_one_line() -> None:
    data = b'id,size"in\n1,5\n'
    header = read_csv_header(io.BytesIO(data), UTF8)
    assert header is not None and header.names == ["id", 'size"in']
    assert [b.data for b in _blocks(data, 100)] == [b"1,5\n"]


@pytest.mark.parametrize(
    ("header", "message"),
    [(b"a,b\rc,d", "lone CR"), (b'a,"b,c', "a quoted field in it does not close")],
)
def test_an_unreadable_header_is_invalid_input(header: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_header(header, UTF8)


def test_a_file_with_cr_line_ends_is_invalid_input_not_an_empty_one() -> None:
    with pytest.raises(InvalidInput, match=r"the CSV header cannot be read: .*lone CR"):
        _blocks(b"a,b\r1,2\r3,4\r", 100)


#: texts pyarrow reads as null by default
_MISSING = ["NA", "null", "N/A", "nan", "NULL", "#N/A", "n/a", "-nan"]


@pytest.mark.parametrize("ragged", [False, True], ids=["fast parse", "careful parse"])
def test_text_columns_keep_missing_text_and_numeric_columns_read_it_as_null(ragged: bool) -> None:
    body = "".join(f"{t},{t}\n" for t in _MISSING) + ',""\n' + ("1\n" if ragged else "")
    block = CsvBlock(b"text,number\n", body.encode(), UTF8)
    types = {"text": pa.string(), "number": pa.float64()}
    batch = decode_csv_block(replace(block, column_types=types))
    rows = len(_MISSING) + 1
    assert batch.column("text").to_pylist()[:rows] == [*_MISSING, None]
    assert batch.column("number").to_pylist()[:rows] == [None] * rows
    assert (ROW_ERROR_COLUMN in batch.schema.names) == ragged


@settings(max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    rows=st.lists(
        st.lists(st.sampled_from(["", "1", "2.5", "x", *_MISSING]), min_size=3, max_size=3),
        min_size=1,
        max_size=10,
    ),
    ragged_at=st.integers(0, 10),
)
def test_a_row_decodes_the_same_whatever_else_its_block_holds(
    rows: list[list[str]], ragged_at: int
) -> None:
    lines = [",".join(row) + "\n" for row in rows]
    types = {"a": pa.string(), "b": pa.float64(), "c": pa.string()}

    def decoded(block_lines: list[str]) -> list[dict]:
        block = CsvBlock(b"a,b,c\n", "".join(block_lines).encode(), UTF8, types)
        return [
            {k: v for k, v in r.items() if k != ROW_ERROR_COLUMN}
            for r in decode_csv_block(block).to_pylist()
        ]

    alone = decoded(lines)
    beside_a_bad_row = decoded([*lines[:ragged_at], "1,2\n", *lines[ragged_at:]])
    del beside_a_bad_row[min(ragged_at, len(lines))]
    assert beside_a_bad_row == alone
