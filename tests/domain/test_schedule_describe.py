"""The English description of a schedule and its warnings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from scorecast.domain.schedule import describe, parse_schedule


def text_of(**fields: Any) -> str:
    return describe(schedule(**fields)).text


def schedule(**fields: Any) -> Any:
    data: dict[str, Any] = {
        "minute": [0],
        "hour": [16],
        "dayOfMonth": ["*"],
        "month": ["*"],
        "dayOfWeek": ["*"],
    }
    data.update(fields)
    return parse_schedule(data)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"dayOfMonth": [1], "dayOfWeek": [1]},
            "At 16:00 UTC on day 1 of every month and on every Monday",
        ),
        ({}, "At 16:00 UTC every day"),
        ({"minute": ["*"], "hour": ["*"]}, "Every minute UTC every day"),
        ({"minute": [0, 30], "hour": ["*"]}, "At minutes 0 and 30 of every hour UTC every day"),
        ({"minute": ["*"], "hour": [9]}, "Every minute of hour 9 UTC every day"),
        (
            {"dayOfWeek": ["mon", "tue", "wed", "thu", "fri"], "hour": [9, 17]},
            "At 09:00 and 17:00 UTC on every Monday to Friday",
        ),
        (
            {"minute": [0, 15, 30, 45], "hour": [9, 10, 11, 12, 17]},
            "At minutes 0, 15, 30 and 45 of hours 9-12 and 17 UTC every day",
        ),
        (
            {"dayOfMonth": [1, 15], "month": ["jan", "jul"]},
            "At 16:00 UTC on days 1 and 15 of January and July",
        ),
        ({"dayOfWeek": ["sun"], "month": [12]}, "At 16:00 UTC on every Sunday in December"),
        (
            {"timezone": "Europe/London", "hour": [9]},
            "At 09:00 (Europe/London time) every day",
        ),
    ],
)
def test_text(fields: dict[str, Any], expected: str) -> None:
    assert text_of(**fields) == expected


def test_ordinary_schedule_has_no_warnings() -> None:
    assert describe(schedule(dayOfMonth=[1])).warnings == []


def test_never_firing_schedule_is_warned() -> None:
    warnings = describe(schedule(dayOfMonth=[30, 31], month=["feb"])).warnings
    assert warnings == ["never fires: days 30 and 31 never occur in February"]


def test_listed_months_that_never_match_the_listed_days() -> None:
    warnings = describe(schedule(dayOfMonth=[31], month=["jan", "feb", "apr"])).warnings
    assert "February and April never match the listed days of the month (31)" in warnings


def test_missing_days_and_leap_days_are_warned() -> None:
    warnings = describe(schedule(dayOfMonth=[29, 31])).warnings
    assert any("day 31 does not exist in February, April" in w for w in warnings)
    assert "day 29 of February exists only in leap years" in warnings


def test_dst_gap_and_overlap_are_warned_with_the_policy() -> None:
    london = schedule(hour=[1], minute=[30], timezone="Europe/London", dstOverlapPolicy="both")
    warnings = describe(london, now=datetime(2026, 1, 1, tzinfo=UTC)).warnings
    assert len(warnings) == 2
    gap, overlap = warnings
    assert gap.startswith("local time 01:30 falls into a DST gap in Europe/London")
    assert "2026-03-29" in gap
    assert "dstGapPolicy shift" in gap
    assert overlap.startswith("local time 01:30 occurs twice in Europe/London")
    assert "dstOverlapPolicy both" in overlap


def test_dst_warnings_only_for_dates_the_schedule_runs_on() -> None:
    # London changes clocks on the last Sunday of March and October, never on the 1st.
    first_of_month = schedule(hour=[1], minute=[30], dayOfMonth=[1], timezone="Europe/London")
    assert describe(first_of_month, now=datetime(2026, 1, 1, tzinfo=UTC)).warnings == []
    assert describe(first_of_month).warnings == []


def test_zone_without_dst_has_no_dst_warnings() -> None:
    tokyo = schedule(hour=["*"], minute=["*"], timezone="Asia/Tokyo")
    assert describe(tokyo).warnings == []
