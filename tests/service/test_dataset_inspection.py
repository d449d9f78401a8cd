"""The bounded-memory checks of uploaded dataset files (``service.dataset_inspection``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorecast.config import Limits
from scorecast.errors import InvalidInput
from scorecast.service.dataset_inspection import (
    inspect_dataset_file,
    inspect_in_child,
    longest_line,
)


def _expected(data: bytes) -> tuple[int, int]:
    lengths = [len(line) for line in data.split(b"\n")]
    longest = max(lengths)
    return longest, lengths.index(longest) + 1


@settings(deadline=None)
@given(
    data=st.binary(max_size=300)
    | st.lists(st.sampled_from([b"a", b"bb", b"\n", b"\n\n"])).map(b"".join),
    size=st.integers(min_value=1, max_value=40),
)
def test_longest_line_is_the_same_whatever_the_blocks(data: bytes, size: int) -> None:
    blocks = [data[start : start + size] for start in range(0, len(data), size)]
    assert longest_line(blocks) == _expected(data)


def test_a_readable_csv_is_inspected_within_the_limits(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"a,b\n1,2\n3,4\n")
    limits = Limits(dataset_columns=2, line_bytes=3)
    assert inspect_dataset_file(str(path), "csv", limits) == {"names": ["a", "b"], "rowCount": 2}


def test_no_limit_means_none(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"a,b,c\n" + b"1" * 5000 + b",2,3\n")
    limits = Limits(dataset_columns=0, line_bytes=0)
    assert inspect_dataset_file(str(path), "csv", limits)["rowCount"] == 1


def test_an_unreadable_csv_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"a,b\n1,2,3,4\n")
    with pytest.raises(InvalidInput) as raised:
        inspect_dataset_file(str(path), "csv", Limits())
    assert set(raised.value.errors) == {"file"}


@pytest.mark.parametrize("data", [b"true", b"\xf3\x80\xb0\x95", b"a,b\n1,2,3\n"])
def test_the_child_answers_and_ends_after_a_parse_error(tmp_path: Path, data: bytes) -> None:
    # such files once left the child hanging at exit in pyarrow, and the upload with it
    path = tmp_path / "rows.csv"
    path.write_bytes(data)
    with pytest.raises(InvalidInput, match="is not a readable CSV file"):
        inspect_in_child(path, "csv", Limits())


def test_the_child_reads_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"a,b\n1,2\n")
    assert inspect_in_child(path, "csv", Limits()) == {"names": ["a", "b"], "rowCount": 1}
