"""The run policies' pure decisions: retry schedule, run ends, auto-disable counting, limits."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast.domain.run_policies import (
    MAX_RETRY_DELAY,
    REPLACED,
    TIMED_OUT,
    FireResult,
    RunEnd,
    consecutive_failures,
    next_attempt_at,
    past,
    retry_delay,
    run_end,
    should_disable,
)

T0 = datetime(2026, 3, 1, 12, 0)
attempts = st.integers(1, 12)
delays = st.floats(0, 3600, allow_nan=False)
factors = st.floats(1, 5, allow_nan=False)


@given(attempts, delays, factors)
def test_the_delay_is_the_base_times_the_factor_to_the_failed_attempts_before(
    n: int, delay: float, factor: float
) -> None:
    expected = min(delay * factor ** (n - 1), MAX_RETRY_DELAY.total_seconds())
    got = retry_delay(n, delay, factor).total_seconds()
    assert got == pytest.approx(expected, rel=1e-6, abs=1e-3)


@given(attempts, delays, factors)
def test_delays_never_shrink_from_one_attempt_to_the_next(
    n: int, delay: float, factor: float
) -> None:
    assert retry_delay(n + 1, delay, factor) >= retry_delay(n, delay, factor)


@given(st.integers(1, 10), delays, factors)
def test_a_fire_gets_exactly_max_attempts_attempts(
    max_attempts: int, delay: float, factor: float
) -> None:
    attempt, moment, starts = 1, T0, [T0]
    while True:
        following = next_attempt_at(
            attempt,
            moment,
            max_attempts=max_attempts,
            delay_seconds=delay,
            backoff_factor=factor,
        )
        if following is None:
            break
        assert following >= moment  # an attempt never starts before the previous one failed
        attempt, moment = attempt + 1, following
        starts.append(following)
    assert len(starts) == max_attempts


def test_the_documented_example() -> None:
    waits = [retry_delay(n, 60, 2) for n in (1, 2, 3)]
    assert waits == [timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]
    assert retry_delay(200, 60, 10) == MAX_RETRY_DELAY
    with pytest.raises(ValueError):
        retry_delay(0, 60, 2)


@pytest.mark.parametrize(
    ("status", "requested", "reason", "expected"),
    [
        ("COMPLETED", False, None, RunEnd.SUCCEEDED),
        ("FAILED", False, None, RunEnd.FAILED),
        ("ABORTED", False, None, RunEnd.FAILED),  # abortOnError
        ("ABORTED", True, None, RunEnd.CANCELLED),  # a user's abort
        ("ABORTED", True, TIMED_OUT, RunEnd.FAILED),
        ("ABORTED", True, REPLACED, RunEnd.CANCELLED),  # overlap policy cancelRunning
        ("FAILED", True, None, RunEnd.FAILED),
    ],
)
def test_how_a_run_ended(
    status: str, requested: bool, reason: str | None, expected: RunEnd
) -> None:
    assert run_end(status, abort_requested=requested, abort_reason=reason) is expected


results = st.lists(st.sampled_from(list(FireResult)), max_size=40)


@given(results)
def test_failures_are_counted_back_to_the_latest_success(history: list[FireResult]) -> None:
    count = consecutive_failures(history)
    before_success = []
    for result in history:
        if result is FireResult.SUCCEEDED:
            break
        before_success.append(result)
    assert count == before_success.count(FireResult.FAILED)
    # neutral fires change nothing, wherever they are
    without_neutral = [r for r in history if r is not FireResult.NEUTRAL]
    assert consecutive_failures(without_neutral) == count


@given(results, st.integers(1, 10))
def test_one_more_failure_disables_at_most_one_fire_later(
    history: list[FireResult], threshold: int
) -> None:
    count = consecutive_failures(history)
    after = consecutive_failures([FireResult.FAILED, *history])
    assert after == count + 1
    assert consecutive_failures([FireResult.SUCCEEDED, *history]) == 0
    if should_disable(threshold, count):
        assert should_disable(threshold, after)
    assert should_disable(threshold, after) == (count + 1 >= threshold)


def test_no_threshold_never_disables() -> None:
    assert not should_disable(None, 1000)
    assert not should_disable(0, 1000)


@given(st.integers(0, 10_000), st.floats(0, 10_000, allow_nan=False))
def test_a_run_is_past_its_limit_only_after_it(elapsed: int, limit: float) -> None:
    now = T0 + timedelta(seconds=elapsed)
    assert past(T0, now, limit) == (elapsed > limit)
    assert not past(None, now, limit)
    assert not past(T0, now, None)
