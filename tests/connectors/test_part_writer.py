"""``PartWriter``: what is written comes out as parts, in order, whole; with an object store's
part cap, parts grow so that large outputs fit, and an output past the cap fails naming it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast.connectors.azure import BLOCK_SIZE, BLOCKS
from scorecast.connectors.fileio import PartLimits, PartWriter
from scorecast.connectors.s3 import PART_SIZE, PARTS
from scorecast.errors import ConnectorError

writes = st.lists(st.binary(max_size=40), max_size=30)
limits = st.builds(PartLimits, max_parts=st.integers(1, 12), grow_every=st.integers(1, 5))


def _write_all(writer: PartWriter, pieces: list[bytes]) -> bytes:
    for piece in pieces:
        writer.write(piece)
    return writer.remainder()


@given(pieces=writes, size=st.integers(1, 9))
def test_fixed_parts_are_cut_exactly_and_in_order(pieces: list[bytes], size: int) -> None:
    parts: list[bytes] = []
    rest = _write_all(PartWriter(size, parts.append), pieces)
    assert b"".join([*parts, rest]) == b"".join(pieces)
    assert all(len(part) == size for part in parts) and len(rest) < size


@given(pieces=writes, size=st.integers(1, 4), cap=limits)
def test_growing_parts_follow_their_schedule_or_fail_past_the_cap(
    pieces: list[bytes], size: int, cap: PartLimits
) -> None:
    parts: list[bytes] = []
    writer = PartWriter(size, parts.append, cap, where="s3://b/k")
    data = b"".join(pieces)
    try:
        rest = _write_all(writer, pieces)
    except ConnectorError as exc:
        assert "s3://b/k" in exc.message and f"{cap.max_parts:,} parts" in exc.message
        assert len(parts) == cap.max_parts  # what fits was uploaded, nothing past the cap
        assert len(data) > cap.capacity(size)
        return
    assert b"".join([*parts, rest]) == data
    assert [len(part) for part in parts] == [
        size * (1 + n // cap.grow_every) for n in range(len(parts))
    ]
    assert len(parts) + bool(rest) <= cap.max_parts
    assert len(data) <= cap.capacity(size)


@given(cap=limits, size=st.integers(1, 4))
def test_the_capacity_is_what_the_schedule_holds(cap: PartLimits, size: int) -> None:
    assert cap.capacity(size) == sum(size * (1 + n // cap.grow_every) for n in range(cap.max_parts))


@pytest.mark.parametrize(
    ("size", "cap", "smallest", "largest_part"),
    [(PART_SIZE, PARTS, 400 << 30, 80 << 20), (BLOCK_SIZE, BLOCKS, 2 << 40, 80 << 20)],
)
def test_the_stores_caps_take_large_outputs_in_small_parts(
    size: int, cap: PartLimits, smallest: int, largest_part: int
) -> None:
    """S3 takes 10,000 parts an object, Azure 50,000 blocks a blob: fixed 8 MiB parts stopped
    an output at 78 GiB on S3."""
    assert cap.capacity(size) >= smallest
    assert size * (1 + (cap.max_parts - 1) // cap.grow_every) <= largest_part
