"""The console's month calendar (pure): every fire on record and every fire due lands on its
local day, the day's colour is its most serious outcome, and the months link to their
neighbours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from scorecast.domain.schedule import next_fires, parse_schedule
from scorecast.web.calendar import (
    MAX_FUTURE,
    Day,
    Month,
    month_bounds,
    month_calendar,
    parse_month,
)

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
OUTCOMES = ("started", "queued", "skipped", "missed", "failed", "retried", "backfill")
PARIS_DAILY = parse_schedule(
    {
        "minute": [30],
        "hour": [0],
        "dayOfMonth": ["*"],
        "month": ["*"],
        "dayOfWeek": ["*"],
        "timezone": "Europe/Paris",
    }
)


def _days(month: Month) -> list[Day]:
    return [day for week in month.weeks for day in week if day is not None]


@given(
    st.lists(st.tuples(st.integers(0, 31 * 24 * 60 - 1), st.sampled_from(OUTCOMES)), max_size=60)
)
def test_every_past_fire_is_counted_on_its_local_day(fires: list[tuple[int, str]]) -> None:
    start, end = month_bounds(date(2026, 3, 1), PARIS_DAILY.zone)
    past = [(start + timedelta(minutes=m), outcome) for m, outcome in fires]
    past = [(moment, outcome) for moment, outcome in past if moment < end]
    month = month_calendar(date(2026, 3, 1), PARIS_DAILY, past, NOW, upcoming=False)
    days = _days(month)
    assert len(days) == 31
    assert sum(sum(day.counts.values()) for day in days) == len(past)
    for moment, outcome in past:
        local = moment.astimezone(PARIS_DAILY.zone).date()
        day = next(d for d in days if d.day == local)
        assert day.counts[outcome] >= 1


def test_due_fires_are_the_schedules_fires_after_now_in_the_month() -> None:
    month = month_calendar(date(2026, 3, 1), PARIS_DAILY, [], NOW)
    due = {day.day: day.counts["due"] for day in _days(month)}
    _, end = month_bounds(date(2026, 3, 1), PARIS_DAILY.zone)
    expected = [m for m in next_fires(PARIS_DAILY, NOW, 40) if m < end]
    assert sum(due.values()) == len(expected) == 16  # 16 to 31 March, 00:30 in Paris
    assert all(due[m.astimezone(PARIS_DAILY.zone).date()] == 1 for m in expected)
    assert not month.truncated
    # the first of April at 00:30 in Paris is 31 March in UTC, yet it is April's fire
    april = month_calendar(date(2026, 4, 1), PARIS_DAILY, [], NOW)
    assert _days(april)[0].counts["due"] == 1


def test_a_day_shows_its_most_serious_outcome() -> None:
    morning = datetime(2026, 3, 2, 8, tzinfo=UTC)
    past = [(morning, "started"), (morning + timedelta(hours=1), "skipped")]
    past += [(morning + timedelta(days=1), "started"), (morning + timedelta(days=2), "missed")]
    past += [(morning + timedelta(days=2, hours=1), "started")]
    month = month_calendar(date(2026, 3, 1), None, past, NOW)
    kinds = {day.day.day: day.kind for day in _days(month)}
    assert (kinds[2], kinds[3], kinds[4], kinds[5]) == ("warn", "ok", "bad", "none")
    day = next(d for d in _days(month) if d.day.day == 4)
    assert day.summary == "1 missed, 1 started"  # the most serious first
    assert next(d for d in _days(month) if d.today).day == NOW.date()


def test_a_minutely_schedule_is_cut_off_and_says_so() -> None:
    minutely = parse_schedule(
        {"minute": ["*"], "hour": ["*"], "dayOfMonth": ["*"], "month": ["*"], "dayOfWeek": ["*"]}
    )
    month = month_calendar(date(2026, 3, 1), minutely, [], NOW)
    assert month.truncated
    assert sum(day.counts["due"] for day in _days(month)) == MAX_FUTURE


def test_months_link_to_their_neighbours_and_bad_months_fall_back() -> None:
    december = month_calendar(date(2026, 12, 1), None, [], NOW)
    january = month_calendar(date(2027, 1, 1), None, [], NOW)
    assert (december.previous, december.next, january.previous) == ("2026-11", "2027-01", "2026-12")
    assert december.title == "December 2026"
    today = NOW.date()
    assert parse_month("2027-02", today) == date(2027, 2, 1)
    for bad in ("", "2027", "2027-13", "x-y", "0000-01", "99999-01"):
        assert parse_month(bad, today) == date(2026, 3, 1)


def test_fires_on_record_read_only_in_part_say_so() -> None:
    assert month_calendar(date(2026, 3, 1), None, [], NOW, past_cut=True).truncated
    assert not month_calendar(date(2026, 3, 1), None, [], NOW).truncated
