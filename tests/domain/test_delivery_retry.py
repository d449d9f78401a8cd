"""Retry backoff of notification deliveries: doubling, capped, and given up in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorecast.domain.delivery_retry import AttemptResult, RetryPolicy, classify_http

policies = st.builds(
    RetryPolicy,
    base_delay=st.floats(min_value=1.0, max_value=600),
    factor=st.floats(min_value=1.0, max_value=4.0),
    max_delay=st.floats(min_value=300.0, max_value=86400),
    give_up_after=st.floats(min_value=0.0, max_value=86400),
)
START = datetime(2026, 1, 1, tzinfo=UTC)


@settings(deadline=None)
@given(policy=policies, retry=st.integers(min_value=1, max_value=10_000))
def test_delays_grow_and_stay_under_the_cap(policy: RetryPolicy, retry: int) -> None:
    delay = policy.delay(retry)
    assert min(policy.base_delay, policy.max_delay) <= delay <= policy.max_delay
    assert policy.delay(retry + 1) >= delay


@settings(deadline=None)
@given(policy=policies)
def test_a_delivery_that_always_fails_is_given_up_within_its_window(policy: RetryPolicy) -> None:
    """Retrying at each planned time ends, and no attempt is planned past the window."""
    now, attempts = START, 1
    while True:
        next_at = policy.next_attempt(START, attempts, now)
        if next_at is None:
            break
        assert next_at > now
        assert (next_at - START).total_seconds() <= policy.give_up_after
        now, attempts = next_at, attempts + 1


def test_the_default_schedule() -> None:
    policy = RetryPolicy()
    assert [policy.delay(n) for n in range(1, 6)] == [5, 10, 20, 40, 80]
    assert policy.delay(30) == 3600
    assert policy.next_attempt(START, 1, START + timedelta(hours=24)) is None
    with pytest.raises(ValueError):
        policy.delay(0)


@settings(deadline=None)
@given(st.integers(min_value=100, max_value=599))
def test_only_5xx_are_retried_and_only_2xx_delivered(status: int) -> None:
    result = classify_http(status)
    if 200 <= status < 300:
        assert result is AttemptResult.DELIVERED
    elif status >= 500:
        assert result is AttemptResult.RETRYABLE
    else:
        assert result is AttemptResult.REJECTED
    assert classify_http(None) is AttemptResult.RETRYABLE
