"""The dynamic chunk size: bounds, step limit and convergence, for any observations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorecast.domain.chunk_sizing import (
    MAX_CHUNK_BYTES,
    MIN_CHUNK_BYTES,
    START_CHUNK_BYTES,
    TARGET_CHUNK_SECONDS,
    ChunkSizer,
    ChunkSizing,
)

observations = st.lists(
    st.tuples(
        st.integers(min_value=-10, max_value=1 << 40),
        st.one_of(
            st.floats(min_value=0, max_value=1e6),
            st.sampled_from([0.0, -1.0, float("nan"), float("inf")]),
        ),
    ),
    max_size=60,
)
policies = st.builds(
    lambda low, span, start, target: ChunkSizing(
        target_seconds=target,
        min_bytes=low,
        max_bytes=low + span,
        start_bytes=low + min(start, span),
    ),
    st.integers(min_value=1, max_value=1 << 24),
    st.integers(min_value=0, max_value=1 << 28),
    st.integers(min_value=0, max_value=1 << 28),
    st.floats(min_value=0.01, max_value=100),
)


@settings(deadline=None)
@given(policies, observations, st.lists(st.integers(0, 3), max_size=60))
def test_sizes_stay_within_bounds_and_change_by_at_most_twice(
    policy: ChunkSizing, seen: list[tuple[int, float]], asks: list[int]
) -> None:
    sizer = ChunkSizer(policy)
    previous = policy.start_bytes
    for (nbytes, seconds), ask in zip(seen, asks, strict=False):
        sizer.observe(nbytes, seconds)
        for _ in range(ask):  # reads ahead: several sizes asked between two observations
            size = sizer.next_bytes()
            assert policy.min_bytes <= size <= policy.max_bytes
            assert size <= 2 * previous and 2 * size >= previous
            previous = size
    assert sizer.smallest <= sizer.size <= sizer.largest


@settings(deadline=None)
@given(st.floats(min_value=1.0, max_value=1e10), st.integers(0, 5))
def test_a_steady_rate_converges_to_rate_times_the_target_time(
    rate: float, read_ahead: int
) -> None:
    sizer = ChunkSizer()
    pending = [sizer.next_bytes() for _ in range(read_ahead + 1)]
    for _ in range(30):
        nbytes = pending.pop(0)
        sizer.observe(nbytes, nbytes / rate)
        pending.append(sizer.next_bytes())
    expected = min(max(rate * TARGET_CHUNK_SECONDS, MIN_CHUNK_BYTES), MAX_CHUNK_BYTES)
    assert sizer.next_bytes() == pytest.approx(expected, rel=1e-6, abs=1)


@settings(deadline=None)
@given(st.lists(st.floats(min_value=1e5, max_value=1e8), min_size=1, max_size=40))
def test_the_size_follows_the_rate_within_a_factor_two_of_the_smoothed_rate(
    rates: list[float],
) -> None:
    sizer = ChunkSizer()
    for rate in rates:
        size = sizer.next_bytes()
        sizer.observe(size, size / rate)
    assert sizer.rate is not None
    assert min(rates) * (1 - 1e-9) <= sizer.rate <= max(rates) * (1 + 1e-9)


def test_the_first_chunks_have_the_start_size_and_a_slow_then_fast_job_moves_stepwise() -> None:
    sizer = ChunkSizer()
    assert [sizer.next_bytes(), sizer.next_bytes()] == [START_CHUNK_BYTES] * 2
    sizes = []
    for _ in range(4):  # 100 KB/s: far below the smallest chunk per second
        size = sizer.next_bytes()
        sizes.append(size)
        sizer.observe(size, size / 100_000)
    assert sizes == [START_CHUNK_BYTES, 2 << 20, 1 << 20, 512 << 10]
    assert sizer.next_bytes() == MIN_CHUNK_BYTES
    for _ in range(20):  # 1 GB/s
        sizer.observe(sizer.size, sizer.size / 1e9)
        sizer.next_bytes()
    assert (sizer.smallest, sizer.size) == (MIN_CHUNK_BYTES, MAX_CHUNK_BYTES)


def test_empty_or_unmeasurable_chunks_change_nothing() -> None:
    sizer = ChunkSizer()
    for nbytes, seconds in [(0, 1.0), (100, float("nan")), (100, -1.0), (100, float("inf"))]:
        sizer.observe(nbytes, seconds)
    assert sizer.rate is None and sizer.next_bytes() == START_CHUNK_BYTES


@pytest.mark.parametrize(
    "bad",
    [
        {"min_bytes": 0},
        {"min_bytes": 10, "start_bytes": 5, "max_bytes": 20},
        {"start_bytes": 64 << 20},
        {"target_seconds": 0.0},
        {"smoothing": 0.0},
    ],
)
def test_an_impossible_policy_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="need"):
        ChunkSizing(**bad)  # type: ignore[arg-type]
