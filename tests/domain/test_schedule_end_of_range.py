"""Zone searches near the end of datetime's range: a year without transitions is walked in a
few segments (never one second per step), so fires in 9999 are found and the search ends."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from typing import Any

import pytest

from scorecast.domain.schedule import next_fire_after, next_fires, parse_schedule
from scorecast.domain.schedule.backfill_plan import fire_times_between
from scorecast.domain.schedule.zones import segment_at

# Zone searches end at 30 December 9999 UTC (wall clocks past it are not all representable).
SEARCH_END = int(datetime(9999, 12, 30, tzinfo=UTC).timestamp())
ZONES = ["Asia/Tokyo", "America/New_York", "Australia/Lord_Howe", "Etc/GMT+12", "Etc/GMT-14"]


def _schedule(zone: str, **fields: Any) -> Any:
    every: dict[str, Any] = {"dayOfMonth": ["*"], "month": ["*"], "dayOfWeek": ["*"]}
    return parse_schedule({**every, "minute": [0], "hour": [0], **fields, "timezone": zone})


def _year_start(year: int) -> int:
    return int(datetime(year, 1, 1, tzinfo=UTC).timestamp())


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("year", [2, 1970, 2026, 9988, 9989, 9998, 9999])
def test_a_year_is_walked_in_few_segments(zone: str, year: int) -> None:
    # The engine's loop: from a segment's end to the next segment. A year has at most a few
    # transitions, so a few steps cross it; one second per step would take millions.
    tz = zoneinfo.ZoneInfo(zone)
    instant = _year_start(year)
    end = SEARCH_END if year == 9999 else _year_start(year + 1)
    steps = 0
    while instant < end:
        steps += 1
        assert steps <= 5, f"{zone} {year}: still at {datetime.fromtimestamp(instant, UTC)}"
        segment = segment_at(tz, instant)
        assert segment.end.instant > instant
        instant = segment.end.instant


@pytest.mark.parametrize("zone", ZONES)
def test_an_artificial_end_in_the_last_year_is_the_search_end(zone: str) -> None:
    tz = zoneinfo.ZoneInfo(zone)
    for month in (1, 6, 12):
        instant = int(datetime(9999, month, 1, tzinfo=UTC).timestamp())
        segment = segment_at(tz, instant)
        if segment.end.after == segment.offset:  # no transition ahead
            assert segment.end.instant == SEARCH_END


@pytest.mark.timeout(60)
def test_a_fire_past_the_search_end_is_none() -> None:
    # 31 December 00:00 in Tokyo is 30 December 15:00 UTC, past the search end.
    schedule = _schedule("Asia/Tokyo", dayOfMonth=[31], month=[12])
    assert next_fire_after(schedule, datetime(9999, 1, 1, tzinfo=UTC)) is None
    assert next_fire_after(schedule, datetime(9998, 1, 1, tzinfo=UTC)) == datetime(
        9998, 12, 30, 15, tzinfo=UTC
    )


@pytest.mark.timeout(60)
def test_every_day_of_the_last_year_is_found() -> None:
    fires = next_fires(_schedule("Asia/Tokyo"), datetime(9998, 12, 31, tzinfo=UTC), 1000)
    assert len(fires) == 364
    assert fires[0] == datetime(9998, 12, 31, 15, tzinfo=UTC)
    assert fires[-1] == datetime(9999, 12, 29, 15, tzinfo=UTC)


@pytest.mark.timeout(60)
def test_a_backfill_over_the_last_year_ends() -> None:
    times = fire_times_between(
        _schedule("Asia/Tokyo"), datetime(9999, 1, 1, tzinfo=UTC), datetime(9999, 12, 31)
    )
    assert len(times) == 363
    assert times[-1] == datetime(9999, 12, 29, 15, tzinfo=UTC)


@pytest.mark.timeout(60)
def test_daylight_saving_time_applies_in_the_last_year() -> None:
    # New York springs forward on 14 March 9999 at 02:00 EST (07:00 UTC): 02:30 does not
    # exist and shifts to the jump; 09:30 is EDT (13:30 UTC) after it, EST (14:30 UTC) before.
    schedule = _schedule("America/New_York", hour=[2, 9], minute=[30])
    assert next_fires(schedule, datetime(9999, 3, 13, 12, tzinfo=UTC), 3) == [
        datetime(9999, 3, 13, 14, 30, tzinfo=UTC),
        datetime(9999, 3, 14, 7, tzinfo=UTC),
        datetime(9999, 3, 14, 13, 30, tzinfo=UTC),
    ]
