"""Backfill plans: the planned set is exactly the schedule's fire times in [start, end), split
into planned and skipped as the rules say; the size bound holds before anything is built."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from scorecast.domain.schedule import next_fires, parse_schedule
from scorecast.domain.schedule.backfill_plan import (
    TooManyFireTimes,
    fire_times_between,
    plan_backfill,
    releasable,
)

EVERY_DAY = {"dayOfMonth": ["*"], "month": ["*"], "dayOfWeek": ["*"]}
ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]

moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)
)


@st.composite
def schedules(draw: st.DrawFn, zoned: bool = False) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "minute": sorted(draw(st.sets(st.integers(0, 59), min_size=1, max_size=4))),
        "hour": draw(
            st.one_of(st.just(["*"]), st.sets(st.integers(0, 23), min_size=1).map(sorted))
        ),
        **EVERY_DAY,
    }
    if zoned:
        payload["timezone"] = draw(st.sampled_from(ZONES))
    return payload


def _by_minute_walk(payload: dict[str, Any], start: datetime, end: datetime) -> list[datetime]:
    """The reference for UTC schedules: every minute in [start, end) that the lists name."""
    hours = set(range(24)) if payload["hour"] == ["*"] else set(payload["hour"])
    minute = start.replace(second=0, microsecond=0)
    if minute < start:
        minute += timedelta(minutes=1)
    found = []
    while minute < end:
        if minute.minute in payload["minute"] and minute.hour in hours:
            found.append(minute)
        minute += timedelta(minutes=1)
    return found


@settings(max_examples=examples(60), deadline=None)
@given(schedules(), moments, st.integers(1, 3 * 24 * 60 * 60))
def test_utc_fire_times_in_range_are_the_minutes_the_schedule_lists(
    payload: dict[str, Any], start: datetime, seconds: int
) -> None:
    end = start + timedelta(seconds=seconds)
    times = fire_times_between(parse_schedule(payload), start, end)
    assert times == _by_minute_walk(payload, start, end)


@settings(max_examples=examples(60), deadline=None)
@given(schedules(zoned=True), moments, st.integers(1, 10 * 24 * 60 * 60))
def test_zoned_fire_times_in_range_are_the_schedulers_fire_times(
    payload: dict[str, Any], start: datetime, seconds: int
) -> None:
    """In a zone (DST gaps and overlaps included) the range holds what the scheduler fires."""
    schedule = parse_schedule(payload)
    end = start + timedelta(seconds=seconds)
    times = fire_times_between(schedule, start, end)
    after = next_fires(schedule, start - timedelta(seconds=1), len(times) + 2)
    reference = [t for t in after if t >= start]
    assert times == [t for t in reference if t < end]
    assert len(reference) > len(times) or len(after) < len(times) + 2  # the next one is >= end
    assert all(start <= t < end for t in times)
    assert times == sorted(set(times))


@settings(max_examples=examples(100), deadline=None)
@given(
    st.lists(moments, unique=True, max_size=30).map(sorted),
    st.data(),
    st.booleans(),
    st.one_of(st.none(), moments),
)
def test_a_plan_splits_the_times_into_planned_and_skipped(
    times: list[datetime], data: st.DataObject, rerun: bool, scheduler_from: datetime | None
) -> None:
    fired = data.draw(st.sets(st.sampled_from(times)) if times else st.just(set()))
    plan = plan_backfill(times, fired, rerun=rerun, scheduler_from=scheduler_from)
    assert [item.scheduled_time for item in plan] == times
    for item in plan:
        scheduler_owns = scheduler_from is not None and item.scheduled_time >= scheduler_from
        runs = not scheduler_owns and (rerun or item.scheduled_time not in fired)
        assert item.state == ("planned" if runs else "skipped"), item
        assert (item.reason is None) == runs


def test_the_size_bound_is_checked_while_counting() -> None:
    every_minute = parse_schedule({"minute": ["*"], "hour": ["*"], **EVERY_DAY})
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert len(fire_times_between(every_minute, start, start + timedelta(minutes=10), 10)) == 10
    with pytest.raises(TooManyFireTimes):
        fire_times_between(every_minute, start, start + timedelta(minutes=11), 10)
    with pytest.raises(TooManyFireTimes):  # 100 years of minutes: refused after 100,000
        fire_times_between(every_minute, start, start.replace(year=2126))


def test_a_year_of_daily_fires_is_one_plan() -> None:
    daily = parse_schedule({"minute": [0], "hour": [3], **EVERY_DAY, "timezone": "Europe/Paris"})
    start = datetime(2025, 1, 1, tzinfo=UTC)
    times = fire_times_between(daily, start, start.replace(year=2026))
    assert len(times) == 365
    assert times[0] == datetime(2025, 1, 1, 2, 0, tzinfo=UTC)  # 03:00 in Paris, winter time
    assert datetime(2025, 7, 1, 1, 0, tzinfo=UTC) in times  # 03:00 in Paris, summer time


@given(st.integers(1, 50), st.integers(0, 60), st.integers(0, 100))
def test_releasable_never_exceeds_the_places_or_the_planned(
    most: int, active: int, planned: int
) -> None:
    free = releasable(most, active, planned)
    assert 0 <= free <= planned
    assert active + free <= max(most, active)
    assert free == max(0, min(most - active, planned))
