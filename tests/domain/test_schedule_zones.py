"""Schedules in time zones, checked against a brute-force walk over every minute around DST.

The reference walks UTC minute by minute, looks at the local wall clock with the stdlib
``zoneinfo`` and applies each DST policy by its definition: it shares nothing with the engine
but the payload parser.
"""

from __future__ import annotations

import importlib.resources
import struct
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from scorecast.domain.schedule import (
    EVERY,
    DstGapPolicy,
    DstOverlapPolicy,
    Schedule,
    next_fire_after,
    next_fires,
    parse_schedule,
)
from scorecast.domain.schedule.zones import transitions_between, transitions_in_year

MINUTE = timedelta(minutes=1)
ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Tokyo"]
# Tokyo has had no DST since 1951; its windows are its 1948-1951 transitions and a plain day.
WINDOW_YEARS = {zone: (2025, 2027) for zone in ZONES} | {"Asia/Tokyo": (1948, 1951)}
POLICIES = [(gap, overlap) for gap in DstGapPolicy for overlap in DstOverlapPolicy]


def windows(zone: str) -> list[datetime]:
    """UTC instants of the zone's transitions (plus one ordinary day) to walk around."""
    first, last = WINDOW_YEARS[zone]
    centres = [
        datetime.fromtimestamp(t.instant, UTC)
        for t in transitions_between(zoneinfo.ZoneInfo(zone), first, last)
    ]
    return [*centres, datetime(2026, 6, 15, 12, tzinfo=UTC)]


def matches(schedule: Schedule, wall: datetime) -> bool:
    def listed(value: Any, number: int) -> bool:
        return value == EVERY or number in value

    weekday = wall.isoweekday() % 7
    if EVERY in (schedule.day_of_month, schedule.day_of_week):
        day_ok = listed(schedule.day_of_month, wall.day) and listed(schedule.day_of_week, weekday)
    else:
        day_ok = wall.day in schedule.day_of_month or weekday in schedule.day_of_week
    return (
        day_ok
        and listed(schedule.minute, wall.minute)
        and listed(schedule.hour, wall.hour)
        and listed(schedule.month, wall.month)
    )


def reference_fires(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    """Every fire in (start, end], by walking each UTC minute and each skipped local minute."""
    zone = zoneinfo.ZoneInfo(schedule.timezone or "UTC")
    fires: set[datetime] = set()
    instant = start.replace(second=0, microsecond=0) + MINUTE
    # The minute before the first one: a jump between the two is walked too.
    previous_wall = (instant - MINUTE).astimezone(zone).replace(tzinfo=None, fold=0)
    while instant <= end:
        local = instant.astimezone(zone)
        wall = local.replace(tzinfo=None, fold=0)
        if matches(schedule, wall):
            first = wall.replace(tzinfo=zone, fold=0).utcoffset()
            second = wall.replace(tzinfo=zone, fold=1).utcoffset()
            policy = schedule.overlap_policy
            if (
                first == second
                or policy is DstOverlapPolicy.BOTH
                or (policy is DstOverlapPolicy.FIRST and local.fold == 0)
                or (policy is DstOverlapPolicy.LAST and local.fold == 1)
            ):
                fires.add(instant)
        if schedule.gap_policy is DstGapPolicy.SHIFT:
            skipped = previous_wall + MINUTE
            while skipped < wall:  # local minutes the clocks jumped over
                if matches(schedule, skipped):
                    fires.add(instant)
                skipped += MINUTE
        previous_wall = wall
        instant += MINUTE
    return sorted(fires)


def engine_fires(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    fires: list[datetime] = []
    fire = next_fire_after(schedule, start)
    while fire is not None and fire <= end:
        fires.append(fire)
        fire = next_fire_after(schedule, fire)
    return fires


def check_from(schedule: Schedule, start: datetime, hours: int) -> None:
    end = start + timedelta(hours=hours)
    expected = reference_fires(schedule, start, end)
    assert engine_fires(schedule, start, end) == expected
    assert next_fires(schedule, start, len(expected)) == expected


def check_window(schedule: Schedule, centre: datetime, hours: int = 30) -> None:
    check_from(schedule, centre - timedelta(hours=hours), 2 * hours)


def zoned(zone: str, gap: DstGapPolicy, overlap: DstOverlapPolicy, **fields: Any) -> Schedule:
    data: dict[str, Any] = {
        "minute": [0, 15, 30, 45],
        "hour": ["*"],
        "dayOfMonth": ["*"],
        "month": ["*"],
        "dayOfWeek": ["*"],
        "timezone": zone,
        "dstGapPolicy": gap.value,
        "dstOverlapPolicy": overlap.value,
    }
    data.update(fields)
    return parse_schedule(data)


@pytest.mark.parametrize(("gap", "overlap"), POLICIES, ids=lambda p: p.value)
@pytest.mark.parametrize("zone", ZONES)
def test_every_quarter_hour_around_each_transition(
    zone: str, gap: DstGapPolicy, overlap: DstOverlapPolicy
) -> None:
    schedule = zoned(zone, gap, overlap)
    for centre in windows(zone):
        check_window(schedule, centre)


@st.composite
def zoned_schedules(draw: st.DrawFn) -> tuple[Schedule, datetime]:
    zone = draw(st.sampled_from(ZONES))
    centre = draw(st.sampled_from(windows(zone)))
    local_hour = centre.astimezone(zoneinfo.ZoneInfo(zone)).hour
    near = st.sampled_from([(local_hour + d) % 24 for d in (-2, -1, 0, 1, 2)])
    hours: list[Any] = draw(
        st.one_of(st.just(["*"]), st.lists(st.one_of(near, st.integers(0, 23)), min_size=1))
    )
    minutes: list[Any] = draw(
        st.one_of(
            st.just(["*"]),
            st.lists(st.one_of(st.sampled_from([0, 15, 30, 45]), st.integers(0, 59)), min_size=1),
        )
    )
    weekdays: list[Any] = draw(
        st.one_of(st.just(["*"]), st.lists(st.integers(0, 6), min_size=1, max_size=3))
    )
    days: list[Any] = draw(
        st.one_of(st.just(["*"]), st.lists(st.integers(1, 31), min_size=1, max_size=5))
    )
    gap, overlap = draw(st.sampled_from(POLICIES))
    schedule = zoned(
        zone, gap, overlap, minute=minutes, hour=hours, dayOfWeek=weekdays, dayOfMonth=days
    )
    return schedule, centre


@settings(max_examples=examples(120), deadline=None)
@given(zoned_schedules())
def test_random_schedules_around_transitions(case: tuple[Schedule, datetime]) -> None:
    schedule, centre = case
    check_window(schedule, centre, hours=26)


# Searches that start at a segment boundary (a transition) or just before or after it.
NUDGES = [
    timedelta(hours=-1),
    -MINUTE,
    timedelta(seconds=-1),
    timedelta(microseconds=-1),
    timedelta(0),
    timedelta(microseconds=1),
    timedelta(seconds=1),
    MINUTE,
]


@pytest.mark.parametrize(("gap", "overlap"), POLICIES, ids=lambda p: p.value)
@pytest.mark.parametrize("zone", ZONES)
def test_searches_starting_at_each_transition(
    zone: str, gap: DstGapPolicy, overlap: DstOverlapPolicy
) -> None:
    # No listed time at a jump's first second: a fire there can only be a shifted one.
    schedule = zoned(zone, gap, overlap, minute=[10, 40])
    for centre in windows(zone):
        for nudge in NUDGES:
            check_from(schedule, centre + nudge, hours=3)


@settings(max_examples=examples(120), deadline=None)
@given(zoned_schedules(), st.sampled_from(NUDGES))
def test_random_schedules_from_a_transition(
    case: tuple[Schedule, datetime], nudge: timedelta
) -> None:
    schedule, centre = case
    check_from(schedule, centre + nudge, hours=26)


def london(**fields: Any) -> Schedule:
    return parse_schedule(
        {
            "minute": [30],
            "hour": [1],
            "dayOfMonth": ["*"],
            "month": ["*"],
            "dayOfWeek": ["*"],
            "timezone": "Europe/London",
            **fields,
        }
    )


def test_gap_shift_runs_when_the_clocks_jump_and_skip_does_not_run() -> None:
    before = datetime(2026, 3, 28, 12, tzinfo=UTC)
    # 29 March 2026: 01:00 GMT becomes 02:00 BST, so 01:30 does not exist.
    assert next_fire_after(london(), before) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert next_fire_after(london(dstGapPolicy="skip"), before) == datetime(
        2026, 3, 30, 0, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("first", [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]),
        ("last", [datetime(2026, 10, 25, 1, 30, tzinfo=UTC)]),
        (
            "both",
            [datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)],
        ),
    ],
)
def test_overlap_policies(policy: str, expected: list[datetime]) -> None:
    # 25 October 2026: 02:00 BST becomes 01:00 GMT, so 01:30 happens twice.
    fires = next_fires(london(dstOverlapPolicy=policy), datetime(2026, 10, 24, 12, tzinfo=UTC), 3)
    assert fires[: len(expected)] == expected
    assert fires[len(expected)] == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_moment_inside_the_second_pass_of_an_overlap() -> None:
    moment = datetime(2026, 10, 25, 1, 40, tzinfo=UTC)  # 01:40 GMT, the second 01:40
    every_half_hour = {"minute": [0, 30], "hour": ["*"]}
    first = london(**every_half_hour, dstOverlapPolicy="first")
    last = london(**every_half_hour, dstOverlapPolicy="last")
    assert next_fire_after(first, moment) == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
    assert next_fire_after(last, moment) == datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
    inside_first_pass = datetime(2026, 10, 25, 0, 40, tzinfo=UTC)  # 01:40 BST
    assert next_fire_after(last, inside_first_pass) == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)


def test_a_search_from_the_jump_finds_the_time_shifted_to_it() -> None:
    # 29 March 2026: 02:00 CET becomes 03:00 CEST at 01:00 UTC, so 02:30 runs at 01:00 UTC.
    paris = parse_schedule(
        {
            "minute": [30],
            "hour": [2],
            "dayOfMonth": ["*"],
            "month": ["*"],
            "dayOfWeek": ["*"],
            "timezone": "Europe/Paris",
        }
    )
    jump = datetime(2026, 3, 29, 1, tzinfo=UTC)
    for moment in (jump - timedelta(seconds=1), jump - timedelta(microseconds=1)):
        assert next_fire_after(paris, moment) == jump
    assert next_fire_after(paris, jump) == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)


def test_lord_howe_half_hour_gap_shifts_to_the_jump() -> None:
    schedule = parse_schedule(
        {
            "minute": [15],
            "hour": [2],
            "dayOfMonth": ["*"],
            "month": ["*"],
            "dayOfWeek": ["*"],
            "timezone": "Australia/Lord_Howe",
        }
    )
    # 4 October 2026, 02:00 +10:30 becomes 02:30 +11:00 (15:00 UTC on the 3rd).
    fire = next_fire_after(schedule, datetime(2026, 10, 3, 12, tzinfo=UTC))
    assert fire == datetime(2026, 10, 3, 15, 30, tzinfo=UTC)


def test_zone_schedule_far_ahead_is_found() -> None:
    schedule = london(hour=[9], minute=[0], dayOfMonth=[29], month=["feb"])
    assert next_fire_after(schedule, datetime(2097, 1, 1)) == datetime(2104, 2, 29, 9, tzinfo=UTC)


def _tzif_transitions(key: str) -> list[tuple[int, int, int]]:
    """Offset-changing transitions read straight from the zone's TZif file (RFC 8536, v2+)."""
    data: bytes | None = None
    for root in zoneinfo.TZPATH:
        path = Path(root, key)
        if path.is_file():
            data = path.read_bytes()
            break
    if data is None:
        data = importlib.resources.files("tzdata.zoneinfo").joinpath(key).read_bytes()
    counts = struct.unpack(">6l", data[20:44])
    isut, isstd, leap, times, types, chars = counts
    skip = 44 + times * 5 + types * 6 + chars + leap * 8 + isstd + isut
    isut, isstd, leap, times, types, chars = struct.unpack(">6l", data[skip + 20 : skip + 44])
    body = skip + 44
    instants = struct.unpack(f">{times}q", data[body : body + times * 8])
    indices = data[body + times * 8 : body + times * 9]
    infos = body + times * 9
    offsets = [
        struct.unpack(">l", data[infos + i * 6 : infos + i * 6 + 4])[0] for i in range(types)
    ]
    changes = []
    previous = offsets[0]
    for instant, index in zip(instants, indices, strict=True):
        if offsets[index] != previous:
            changes.append((instant, previous, offsets[index]))
        previous = offsets[index]
    return changes


@pytest.mark.parametrize(
    "key",
    [
        *ZONES,
        "America/Sao_Paulo",
        "Africa/Casablanca",
        "Pacific/Apia",
        "Asia/Tehran",
        "Europe/Moscow",
    ],
)
def test_sampled_transitions_equal_the_tzif_data(key: str) -> None:
    zone = zoneinfo.ZoneInfo(key)
    low = int(datetime(1970, 1, 1, tzinfo=UTC).timestamp())
    high = int(datetime(2037, 1, 1, tzinfo=UTC).timestamp())
    expected = [t for t in _tzif_transitions(key) if low < t[0] <= high]
    found = [tuple(t) for year in range(1970, 2037) for t in transitions_in_year(zone, year)]
    assert found == expected


def test_the_edges_of_time_in_a_zone() -> None:
    schedule = london(hour=[0], minute=[0])
    assert next_fire_after(schedule, datetime(9999, 12, 31, tzinfo=UTC)) is None
    assert next_fire_after(schedule, datetime(1, 1, 1, tzinfo=UTC)) == datetime(
        2, 1, 2, 0, 1, 15, tzinfo=UTC
    )


@st.composite
def any_payloads(draw: st.DrawFn) -> dict[str, Any]:
    ranges = {"minute": (0, 59), "hour": (0, 23), "dayOfMonth": (1, 31), "month": (1, 12)}
    ranges["dayOfWeek"] = (0, 6)
    data: dict[str, Any] = {}
    for key, (low, high) in ranges.items():
        star = draw(st.booleans())
        data[key] = ["*"] if star else draw(st.lists(st.integers(low, high), min_size=1))
    return data


far_moments = st.datetimes(min_value=datetime(1980, 1, 1), max_value=datetime(2090, 1, 1))


@settings(max_examples=examples(150), deadline=None)
@given(any_payloads(), far_moments, st.integers(1, 4))
def test_zone_path_with_offset_zero_equals_the_utc_fast_path(
    data: dict[str, Any], moment: datetime, count: int
) -> None:
    # Etc/GMT goes through the zone machinery (segments, lookahead cuts) with offset 0.
    utc = parse_schedule(data)
    gmt = parse_schedule({**data, "timezone": "Etc/GMT"})
    assert gmt.zone is not None
    assert next_fires(gmt, moment, count) == next_fires(utc, moment, count)


@settings(max_examples=examples(150), deadline=None)
@given(any_payloads(), far_moments)
def test_zone_without_dst_is_utc_shifted(data: dict[str, Any], moment: datetime) -> None:
    # Asia/Tokyo has been UTC+9 without DST since 1951.
    nine = timedelta(hours=9)
    utc = parse_schedule(data)
    tokyo = parse_schedule({**data, "timezone": "Asia/Tokyo"})
    expected = next_fire_after(utc, moment + nine)
    got = next_fire_after(tokyo, moment.replace(tzinfo=UTC))
    assert got == (None if expected is None else expected - nine)
