"""Ids: DataRobot's 24-hex-digit shape, the second they were made first, then the process's
sequence, then random bits (the ids the database makes for scheduled jobs:
``tests/runtime/test_firing.py``)."""

from __future__ import annotations

import itertools
import multiprocessing
import re
import time

from hypothesis import given
from hypothesis import strategies as st

from scorecast.store.types import ID_SEQUENCE_SPAN, id_made_at, new_id, reserve_id_sequence

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


def sequence_of(value: str) -> int:
    return int(value[8:14], 16)


def test_ids_carry_the_second_they_were_made_and_never_repeat() -> None:
    before = int(time.time())
    ids = [new_id() for _ in range(20_000)]
    after = int(time.time())
    assert len(set(ids)) == len(ids)
    assert all(before <= made_at(value) <= after for value in ids)
    # one process numbers its ids in sequence (wrapping at its span)...
    numbers = [sequence_of(value) for value in ids]
    assert all(b == (a + 1) % ID_SEQUENCE_SPAN for a, b in itertools.pairwise(numbers))
    # ...so that ids of one second sort in the order they were made (short of a wrap)
    wrapped = any(b < a for a, b in itertools.pairwise(numbers))
    assert wrapped or ids == sorted(ids)
    # and 40 random bits follow: not a counter or a constant
    assert len({value[14:] for value in ids}) == len(ids)
    assert len({value[14:18] for value in ids}) > 1_000


def test_a_reserved_run_of_the_sequence_is_not_given_out_again() -> None:
    first = reserve_id_sequence(1_000)
    after = sequence_of(new_id())
    assert after == (first + 1_000) % ID_SEQUENCE_SPAN


def _child_sequence(queue: multiprocessing.Queue[int]) -> None:
    queue.put(sequence_of(new_id()))


def test_a_forked_process_does_not_continue_its_parents_sequence() -> None:
    """Job processes are forked: a child continuing its parent's numbers would make the same
    ids in the same second but for the random bits."""
    context = multiprocessing.get_context("fork")
    children = []
    for _ in range(3):
        queue: multiprocessing.Queue[int] = context.Queue()
        child = context.Process(target=_child_sequence, args=(queue,))
        child.start()
        children.append(queue.get(timeout=120))
        child.join(120)
    parent_next = sequence_of(new_id())
    # each child started from a fresh random point, not from the parent's next number: three
    # children all landing within 4 of the parent's next number by chance is about 1 in 10^20
    assert not all(abs(number - parent_next) <= 4 for number in children), children
