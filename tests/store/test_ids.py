"""Ids: DataRobot's 24-hex-digit shape, the second they were made first, random after it (the
ids the database makes for scheduled jobs: ``tests/runtime/test_firing.py``)."""

from __future__ import annotations

import re
import time

from hypothesis import given
from hypothesis import strategies as st

from scorecast.store.types import id_made_at, new_id

ID = re.compile(r"[0-9a-f]{24}")
SECONDS = st.integers(min_value=0, max_value=2**32 - 1)


def made_at(value: str) -> int:
    assert ID.fullmatch(value), value
    return int(value[:8], 16)


@given(SECONDS, SECONDS)
def test_an_id_made_in_a_later_second_sorts_later(first: int, second: int) -> None:
    earlier, later = sorted((first, second))
    a, b = id_made_at(earlier), id_made_at(later + 0.999)
    assert made_at(a) == earlier and made_at(b) == later
    if earlier < later:
        assert a < b


def test_ids_carry_the_second_they_were_made_and_never_repeat() -> None:
    before = int(time.time())
    ids = [new_id() for _ in range(20_000)]
    after = int(time.time())
    assert len(set(ids)) == len(ids)
    assert all(before <= made_at(value) <= after for value in ids)
    # the random part really varies: 64 bits, not a counter or a constant
    assert len({value[8:] for value in ids}) == len(ids)
    assert len({value[8:12] for value in ids}) > 1_000
