"""Policies' event matching and maximalFrequency: at most one delivery per period, none lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scorecast.domain.events import EventType
from scorecast.domain.notification_rules import (
    EVENT_GROUPS,
    MAX_PERIOD,
    events_of,
    parse_duration,
    plan_delivery,
    policy_matches,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT1H", 3600),
        ("PT30M", 1800),
        ("P1D", 86400),
        ("PT10S", 10),
        ("P1W", 604800),
        ("P1DT2H", 93600),
        ("pt5m", 300),
    ],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "P", "PT", "1H", "PT1H30", "P1Y", "PT0S", "P400D", "PT-1H"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    "text",
    [
        "P1000000000D",
        "PT99999999999999999999S",
        "P99999999999W",
        "P" + "9" * 5000 + "D",
        "P367D",
        "P53W",
        "PT31622401S",
    ],
)
def test_durations_beyond_a_year_are_refused_plainly(text: str) -> None:
    with pytest.raises(ValueError, match=r"^must be longer than 0 seconds and at most a year"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["P\u0663D", "PT\uff11H", "PT1\u017f", "P1D\u0663"])
def test_only_ascii_durations_are_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_duration(text)


def test_the_longest_duration_and_leading_zeros() -> None:
    assert parse_duration("P366D") == timedelta(days=366)
    assert parse_duration("PT31622400S") == timedelta(days=366)
    assert parse_duration("P" + "0" * 50 + "1D") == timedelta(days=1)


_DURATION_TEXT = st.one_of(
    st.text(),
    st.from_regex(r"\A[Pp]([0-9]{1,30}[WwDd]){0,2}([Tt]([0-9]{1,30}[HhMmSs]){0,3})?\Z"),
)


@settings(deadline=None)
@given(text=_DURATION_TEXT)
def test_any_text_is_a_bounded_duration_or_a_value_error(text: str) -> None:
    try:
        period = parse_duration(text)
    except ValueError as exc:
        assert "sys.set_int_max_str_digits" not in str(exc)
        return
    assert timedelta(0) < period <= MAX_PERIOD


def test_matching() -> None:
    scheduler = events_of(None, "batch_predictions.scheduler.all")
    assert policy_matches(EventType.SKIPPED, "d1", policy_events=scheduler, watched_definition=None)
    assert not policy_matches(
        EventType.SUCCESS, "d1", policy_events=scheduler, watched_definition=None
    )
    one = events_of("batch_predictions.failed", None)
    assert policy_matches(EventType.FAILED, "d1", policy_events=one, watched_definition="d1")
    assert not policy_matches(EventType.FAILED, "d2", policy_events=one, watched_definition="d1")
    assert EVENT_GROUPS["batch_predictions.all"] == frozenset(EventType)


@settings(deadline=None)
@given(
    period_seconds=st.integers(min_value=1, max_value=7200),
    gaps=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=60),
)
def test_at_most_one_delivery_per_period_and_every_event_told(
    period_seconds: int, gaps: list[int]
) -> None:
    """Simulate a policy: each event is sent or folded; deliveries are due at least one period
    apart; every event lands in a delivery due no earlier than itself (a waiting delivery is
    sent at its due time, before which it counts as waiting)."""
    period = timedelta(seconds=period_seconds)
    period_start: datetime | None = None
    deliveries: list[tuple[datetime, int]] = []  # (due, events in it)
    now = START
    for gap in gaps:
        now += timedelta(seconds=gap)
        waiting = bool(deliveries) and deliveries[-1][0] >= now
        plan = plan_delivery(period, period_start, now, has_waiting=waiting)
        if plan.fold:
            due, count = deliveries[-1]
            deliveries[-1] = (due, count + 1)
            assert due >= now
        else:
            assert plan.due >= now
            deliveries.append((plan.due, 1))
            period_start = plan.period_start
    assert sum(count for _, count in deliveries) == len(gaps)
    for (earlier, _), (later, _) in pairwise(deliveries):
        assert later - earlier >= period


def test_no_limit_sends_every_event_now() -> None:
    plan = plan_delivery(None, START, START, has_waiting=True)
    assert (plan.fold, plan.due) == (False, START)
