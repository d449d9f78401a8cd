"""The scheduler's batch size follows the measured rate toward its target time per batch."""

from __future__ import annotations

from scorecast.runtime.batch_sizing import BatchSizer, sizer_for


def test_a_fast_store_grows_the_batch_at_most_twofold_up_to_the_largest() -> None:
    sizer = BatchSizer(target_seconds=0.1, smallest=100, largest=1000)
    assert sizer.size == 100
    sizes = []
    for _ in range(6):
        sizer.observe(sizer.size, 0.001)  # far faster than the target
        sizes.append(sizer.size)
    assert sizes == [200, 400, 800, 1000, 1000, 1000]


def test_a_slow_batch_shrinks_the_next_to_the_target_but_not_below_the_smallest() -> None:
    sizer = BatchSizer(target_seconds=0.1, smallest=100, largest=1000, size=800)
    sizer.observe(800, 0.4)  # 2,000 definitions per second: 200 in 0.1 s
    assert sizer.size == 200
    sizer.observe(200, 10.0)
    assert sizer.size == 100


def test_an_empty_batch_changes_nothing_and_each_store_has_its_target() -> None:
    sizer = BatchSizer(target_seconds=0.1, size=300)
    sizer.observe(0, 0.0)
    assert sizer.size == 300
    assert sizer_for("sqlite").target_seconds < sizer_for("postgresql").target_seconds


def test_a_scheduler_starts_above_the_smallest_batch_and_may_shrink_to_it() -> None:
    sizer = sizer_for("sqlite")
    assert sizer.smallest < sizer.size <= sizer.largest
    sizer.observe(sizer.size, 60.0)  # a store far slower than the target
    assert sizer.size == sizer.smallest
