"""Cutting a CSV into byte ranges for the Dask executor: the ranges meet exactly at line ends."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from scorecast.config import Settings
from scorecast.domain.csv_settings import CsvSettings
from scorecast.engine.dask_split import SplitMisaligned, plan_split, read_csv_range
from scorecast.errors import InvalidInput

CSV = CsvSettings()


def _blocks(data: bytes, target: int) -> list[bytes]:
    stream = io.BytesIO(data)
    split = plan_split(stream, "csv", CSV, len(data), target)
    found = []
    for part in split.parts:
        block = read_csv_range(stream, part, split, CSV, None)
        if block is not None:
            assert block.header == split.header
            found.append(bytes(block.data))
    return found


lines = st.lists(
    st.text(alphabet="ab,1 ", min_size=0, max_size=12).map(lambda t: t + "\n"), max_size=30
)


@settings(max_examples=examples(200), deadline=None)
@given(rows=lines, last=st.text(alphabet="ab1", max_size=5), target=st.integers(1, 60))
def test_the_ranges_hold_every_record_once_in_order(
    rows: list[str], last: str, target: int
) -> None:
    body = "".join(rows) + last
    data = ("\ufeffx,y\r\n" + body).encode()
    joined = b"".join(_blocks(data, target))
    # only blocks of nothing but line ends are left out, as the local reader does
    assert joined.replace(b"\n", b"") == body.encode().replace(b"\n", b"")
    assert [line for line in joined.split(b"\n") if line] == [
        line for line in body.encode().split(b"\n") if line
    ]


def test_a_boundary_inside_a_quoted_line_break_is_refused_naming_the_bytes() -> None:
    data = b'id,note\n1,"first\nsecond"\n2,plain\n'
    with pytest.raises(SplitMisaligned, match="line break inside a quoted value"):
        _blocks(data, 4)  # the first range ends at the quoted line break


def test_a_header_only_csv_has_no_parts() -> None:
    data = b"id,note\n"
    assert plan_split(io.BytesIO(data), "csv", CSV, len(data), 4).parts == ()


def test_a_bad_dask_address_is_refused_naming_the_setting() -> None:
    with pytest.raises(InvalidInput, match="SCORECAST_DASK_ADDRESS") as error:
        Settings.from_env({"SCORECAST_DASK_ADDRESS": "http://scheduler:8786"})
    assert "SCORECAST_DASK_ADDRESS" in error.value.errors
    assert Settings.from_env({"SCORECAST_DASK_ADDRESS": "tcp://h:8786"}).dask_address


@settings(max_examples=examples(200), deadline=None)
@given(rows=lines, stray_at=st.integers(0, 30), target=st.integers(1, 60))
def test_a_quote_inside_an_unquoted_field_does_not_refuse_the_split(
    rows: list[str], stray_at: int, target: int
) -> None:
    # a quote in the middle of a field is an ordinary character (as pyarrow reads it)
    body = "".join([*rows[:stray_at], '7,5" screen\n', *rows[stray_at:]])
    joined = b"".join(_blocks(("x,y\n" + body).encode(), target))
    assert [line for line in joined.split(b"\n") if line] == [
        line for line in body.encode().split(b"\n") if line
    ]


@pytest.mark.parametrize("target", range(1, 40))
def test_every_boundary_inside_a_quoted_line_break_is_refused(target: int) -> None:
    data = b'id,note\n1,"first\nsecond"\n2,"a ""quoted"" word"\n3,5" screen\n'
    ranges_cut_the_value = any(
        data.index(b'"first') < data.index(b"\n", start - 1) < data.index(b'second"')
        for start in range(len(b"id,note\n") + target, len(data), target)
    )
    if ranges_cut_the_value:
        with pytest.raises(SplitMisaligned):
            _blocks(data, target)
    else:
        assert b"".join(_blocks(data, target)) == data[len(b"id,note\n") :]
