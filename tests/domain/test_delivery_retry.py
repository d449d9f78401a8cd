"""Retry backoff of notification deliveries: doubling, capped, the last retry at the deadline,
a receiver's Retry-After honoured, and given up in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorecast.domain.delivery_retry import (
    AttemptResult,
    RetryPolicy,
    classify_http,
    retry_after_seconds,
)

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
def test_a_delivery_that_always_fails_is_tried_until_its_deadline(policy: RetryPolicy) -> None:
    """Retrying at each planned time ends; no attempt is planned past the deadline, and the
    last one is made at the deadline, not a backoff step before it."""
    now, attempts = START, 1
    deadline = START + timedelta(seconds=policy.give_up_after)
    while True:
        next_at = policy.next_attempt(START, attempts, now)
        if next_at is None:
            break
        assert now < next_at <= deadline
        assert next_at == deadline or next_at - now == timedelta(seconds=policy.delay(attempts))
        now, attempts = next_at, attempts + 1
    assert now == deadline


@settings(deadline=None)
@given(
    policy=policies,
    attempts=st.integers(min_value=1, max_value=100),
    elapsed=st.floats(min_value=0, max_value=90000),
    retry_after=st.one_of(st.none(), st.floats(min_value=0, max_value=10**9)),
)
def test_a_retry_after_delays_the_retry_up_to_the_longest_delay_and_the_deadline(
    policy: RetryPolicy, attempts: int, elapsed: float, retry_after: float | None
) -> None:
    now = START + timedelta(seconds=elapsed)
    deadline = START + timedelta(seconds=policy.give_up_after)
    next_at = policy.next_attempt(START, attempts, now, retry_after=retry_after)
    if now >= deadline:
        assert next_at is None
        return
    assert next_at is not None and now < next_at <= deadline
    wait = (next_at - now).total_seconds()
    asked = min(retry_after or 0.0, policy.max_delay)
    if next_at < deadline:
        assert wait == pytest.approx(max(policy.delay(attempts), asked), abs=1e-5)


def test_the_last_retry_of_the_defaults_is_at_24_hours() -> None:
    """Planned 5 s, 10 s, … apart, the retry that would land past the 24 h is made at 24 h."""
    policy = RetryPolicy()
    now, attempts = START, 1
    while (next_at := policy.next_attempt(START, attempts, now)) is not None:
        now, attempts = next_at, attempts + 1
    assert now == START + timedelta(hours=24)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Sun, 01 Feb 2026 00:00:30 GMT", 30.0 + 31 * 86400),
        ("Thu, 01 Jan 2026 00:00:00 GMT", 0.0),  # now: no wait
        ("Wed, 31 Dec 2025 00:00:00 GMT", 0.0),  # past: no wait
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("١٢", None),  # digits, not ASCII ones
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, START) == seconds


def test_the_default_schedule() -> None:
    policy = RetryPolicy()
    assert [policy.delay(n) for n in range(1, 6)] == [5, 10, 20, 40, 80]
    assert policy.delay(30) == 3600
    assert policy.next_attempt(START, 1, START + timedelta(hours=24)) is None
    with pytest.raises(ValueError):
        policy.delay(0)


@settings(deadline=None)
@given(st.integers(min_value=100, max_value=599))
def test_only_5xx_408_and_429_are_retried_and_only_2xx_delivered(status: int) -> None:
    result = classify_http(status)
    if 200 <= status < 300:
        assert result is AttemptResult.DELIVERED
    elif status >= 500 or status in {408, 429}:
        assert result is AttemptResult.RETRYABLE
    else:
        assert result is AttemptResult.REJECTED
    assert classify_http(None) is AttemptResult.RETRYABLE
