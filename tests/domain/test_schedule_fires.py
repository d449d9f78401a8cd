"""Fire times in UTC, checked against croniter and cronsim as independent references."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import cronsim
import pytest
from croniter import croniter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from scorecast.domain.schedule import (
    EVERY,
    Schedule,
    never_fires,
    next_fire_after,
    next_fires,
    parse_schedule,
)
from scorecast.domain.schedule.fields import MONTH_NAMES, WEEKDAY_NAMES

FIELD_RANGES = {
    "minute": (0, 59),
    "hour": (0, 23),
    "dayOfMonth": (1, 31),
    "month": (1, 12),
    "dayOfWeek": (0, 6),
}
NAMES = {"month": (MONTH_NAMES, 1), "dayOfWeek": (WEEKDAY_NAMES, 0)}


@st.composite
def field_values(draw: st.DrawFn, key: str) -> list[Any]:
    if draw(st.integers(0, 9)) < 3:
        return ["*"]
    low, high = FIELD_RANGES[key]
    numbers = draw(st.lists(st.integers(low, high), min_size=1, max_size=6))
    if key not in NAMES:
        return list(numbers)
    names, first = NAMES[key]
    spelled: list[Any] = []
    for number in numbers:
        style = draw(st.integers(0, 3))
        name = names[number - first]
        spelled.append(
            [number, name[:3], name.title(), name.upper()[:3] if style == 3 else name][style]
        )
    return spelled


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    return {key: draw(field_values(key)) for key in FIELD_RANGES}


moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2060, 12, 31), timezones=st.just(UTC)
)


def cron_expression(schedule: Schedule) -> str:
    fields = (
        schedule.minute,
        schedule.hour,
        schedule.day_of_month,
        schedule.month,
        schedule.day_of_week,
    )
    return " ".join("*" if f == EVERY else ",".join(map(str, f)) for f in fields)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads(), moments)
def test_next_fire_matches_croniter_with_day_or(data: dict[str, Any], moment: datetime) -> None:
    schedule = parse_schedule(data)
    if never_fires(schedule):
        assert next_fire_after(schedule, moment) is None
        return
    expected = croniter(cron_expression(schedule), moment, day_or=True).get_next(datetime)
    assert next_fire_after(schedule, moment) == expected


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads(), moments)
def test_next_fires_match_cronsim(data: dict[str, Any], moment: datetime) -> None:
    schedule = parse_schedule(data)
    if never_fires(schedule):
        assert next_fires(schedule, moment, 5) == []
        return
    reference = cronsim.CronSim(cron_expression(schedule), moment)
    expected = [next(reference) for _ in range(5)]
    assert next_fires(schedule, moment, 5) == expected


@settings(max_examples=examples(100), deadline=None)
@given(payloads(), moments)
def test_next_fires_is_next_fire_after_repeated(data: dict[str, Any], moment: datetime) -> None:
    schedule = parse_schedule(data)
    fires = next_fires(schedule, moment, 4)
    previous = moment
    for fire in fires:
        assert fire == next_fire_after(schedule, previous)
        previous = fire


def daily(**changes: Any) -> Schedule:
    data: dict[str, Any] = {
        "minute": [0],
        "hour": [0],
        "dayOfMonth": ["*"],
        "month": ["*"],
        "dayOfWeek": ["*"],
    }
    data.update(changes)
    return parse_schedule(data)


def test_fire_is_strictly_after_the_moment() -> None:
    schedule = daily(hour=[16])
    at_fire = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    assert next_fire_after(schedule, at_fire) == at_fire + timedelta(days=1)
    assert next_fire_after(schedule, at_fire - timedelta(microseconds=1)) == at_fire


def test_naive_moment_is_utc_and_other_offsets_are_converted() -> None:
    schedule = daily(hour=[16])
    expected = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    assert next_fire_after(schedule, datetime(2026, 12, 1, 15, 30)) == expected
    paris = timezone(timedelta(hours=1))
    assert next_fire_after(schedule, datetime(2026, 12, 1, 16, 30, tzinfo=paris)) == expected


def test_the_datarobot_example_is_additive() -> None:
    schedule = parse_schedule(
        {"minute": [0], "hour": [16], "dayOfMonth": [1], "month": ["*"], "dayOfWeek": [1]}
    )
    fires = next_fires(schedule, datetime(2026, 11, 25, tzinfo=UTC), 3)
    # Monday 30 November, Tuesday 1 December (day 1), Monday 7 December.
    assert [f.day for f in fires] == [30, 1, 7]


def test_29_february_is_found_across_a_non_leap_century() -> None:
    schedule = daily(dayOfMonth=[29], month=["feb"])
    fire = next_fire_after(schedule, datetime(2096, 3, 1, tzinfo=UTC))
    assert fire == datetime(2104, 2, 29, tzinfo=UTC)


def test_never_firing_schedules_answer_none_at_once() -> None:
    for days, months in (([30, 31], ["feb"]), ([31], ["apr", "jun", "sep", "nov"])):
        schedule = daily(dayOfMonth=days, month=months)
        assert never_fires(schedule)
        assert next_fire_after(schedule, datetime(2026, 1, 1)) is None
        assert next_fires(schedule, datetime(2026, 1, 1), 10) == []


def test_additive_weekday_rescues_impossible_days() -> None:
    schedule = daily(dayOfMonth=[30], month=["feb"], dayOfWeek=["sun"])
    assert not never_fires(schedule)
    assert next_fire_after(schedule, datetime(2026, 1, 1)) == datetime(2026, 2, 1, tzinfo=UTC)


def test_the_end_of_time_gives_none() -> None:
    schedule = daily()
    assert next_fire_after(schedule, datetime(9999, 12, 31, 0, 0)) is None
    assert len(next_fires(schedule, datetime(9999, 12, 29), 5)) == 2


@pytest.mark.parametrize("count", [0, -1])
def test_no_fires_requested(count: int) -> None:
    assert next_fires(daily(), datetime(2026, 1, 1), count) == []


def test_moments_whose_utc_is_outside_datetime_range() -> None:
    schedule = daily()
    late = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    early = datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=5)))
    assert next_fire_after(schedule, late) is None
    assert next_fires(schedule, late, 3) == []
    assert next_fire_after(schedule, early) == datetime(1, 1, 1, tzinfo=UTC)
    assert next_fires(schedule, early, 2)[1] == datetime(1, 1, 2, tzinfo=UTC)
