"""Previewing a schedule: the fires are the engine's, shown in the zone, and a fire is marked
``gap`` or ``overlap`` exactly on the days the clocks change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from hypothesis_profiles import examples
from scorecast.domain.schedule import next_fires, parse_schedule
from scorecast.domain.schedule.preview import preview

ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Tokyo"]


def _payload(minute: list[int], hour: list[int] | str, zone: str | None) -> dict[str, object]:
    return {
        "minute": minute,
        "hour": ["*"] if hour == "*" else hour,
        "dayOfMonth": ["*"],
        "month": ["*"],
        "dayOfWeek": ["*"],
        **({"timezone": zone} if zone else {}),
    }


def test_a_time_skipped_by_spring_forward_is_marked_gap_at_the_jump() -> None:
    schedule = parse_schedule(_payload([30], [1], "Europe/London"))
    fires = preview(schedule, datetime(2026, 3, 28, 12, tzinfo=UTC), 3)
    assert [f.utc for f in fires] == [
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 01:30 does not exist: at the jump, 02:00 BST
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
        datetime(2026, 3, 31, 0, 30, tzinfo=UTC),
    ]
    assert [f.dst for f in fires] == ["gap", None, None]
    assert fires[0].local.isoformat() == "2026-03-29T02:00:00+01:00"


def test_a_time_that_occurs_twice_is_marked_overlap() -> None:
    schedule = parse_schedule(_payload([30], [1], "Europe/London"))
    fires = preview(schedule, datetime(2026, 10, 24, 12, tzinfo=UTC), 2)
    assert fires[0].utc == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 01:30 (BST)
    assert fires[0].dst == "overlap"
    assert fires[1].dst is None


def test_utc_schedules_are_never_marked() -> None:
    schedule = parse_schedule(_payload([0, 30], "*", None))
    after = datetime(2026, 3, 28, tzinfo=UTC)
    fires = preview(schedule, after, 200)
    assert [f.utc for f in fires] == next_fires(schedule, after, 200)
    assert {f.dst for f in fires} == {None}
    assert all(f.local == f.utc for f in fires)


@settings(max_examples=examples(60), deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    minutes=st.lists(st.integers(0, 59), min_size=1, max_size=3),
    hours=st.one_of(st.just("*"), st.lists(st.integers(0, 23), min_size=1, max_size=3)),
    start=st.datetimes(datetime(2025, 1, 1), datetime(2030, 12, 31)),
)
def test_marks_only_near_a_change_of_offset_and_fires_are_the_engines(
    zone: str, minutes: list[int], hours: list[int] | str, start: datetime
) -> None:
    schedule = parse_schedule(_payload(minutes, hours, zone))
    after = start.replace(tzinfo=UTC)
    fires = preview(schedule, after, 50)
    assert [f.utc for f in fires] == next_fires(schedule, after, 50)
    tz = ZoneInfo(zone)
    for fire in fires:
        assert fire.local == fire.utc.astimezone(tz)
        before = (fire.utc - timedelta(days=1)).astimezone(tz).utcoffset()
        later = (fire.utc + timedelta(days=1)).astimezone(tz).utcoffset()
        if fire.dst is not None:
            assert before != later, fire
        if before == later:
            assert fire.dst is None, fire
