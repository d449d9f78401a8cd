"""A definition's month calendar: past fires by outcome and future fires, one cell a day.

Pure: the month, the fires on record and the moment ``now`` are parameters. Days are the
schedule's local days (UTC without a zone), so a 02:00 Europe/Paris fire lands on its own date.
A day's colour is its most serious outcome: failed or missed, then skipped, then ran (started,
queued, retried, backfill), then due (a future fire).
"""

from __future__ import annotations

import calendar as gregorian
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from scorecast.domain.schedule import Schedule, next_fire_after

#: at most this many future fires are placed on one month (a minutely schedule has 44,640),
#: and at most this many fires on record are read for one
MAX_FUTURE = 1000
MAX_PAST = 1000
#: outcome -> the day class it gives, most serious first
_SEVERITY = ("bad", "warn", "ok", "due")
_CLASS_OF = {
    "failed": "bad",
    "missed": "bad",
    "skipped": "warn",
    "started": "ok",
    "queued": "ok",
    "retried": "ok",
    "backfill": "ok",
    "due": "due",
}
_ORDER = {outcome: index for index, outcome in enumerate(_CLASS_OF)}


@dataclass
class Day:
    day: date
    counts: Counter[str] = field(default_factory=Counter)
    today: bool = False

    @property
    def kind(self) -> str:
        """``bad``, ``warn``, ``ok``, ``due`` or ``none`` (nothing that day)."""
        present = {_CLASS_OF.get(outcome, "ok") for outcome in self.counts}
        return next((kind for kind in _SEVERITY if kind in present), "none")

    @property
    def summary(self) -> str:
        """``2 started, 1 missed`` (outcomes in a fixed order), empty without fires."""
        order = sorted(self.counts, key=lambda outcome: (_ORDER.get(outcome, 99), outcome))
        return ", ".join(f"{self.counts[outcome]} {outcome}" for outcome in order)


@dataclass(frozen=True)
class Month:
    """A month as weeks of seven days (Monday first; ``None`` pads outside the month)."""

    first: date
    weeks: list[list[Day | None]]
    zone_name: str
    truncated: bool  # more fires than MAX_PAST or MAX_FUTURE: some days show too few

    @property
    def title(self) -> str:
        return self.first.strftime("%B %Y")

    @property
    def previous(self) -> str:
        month = self.first.month - 1 or 12
        return f"{self.first.year - (month == 12):04d}-{month:02d}"

    @property
    def next(self) -> str:
        month = self.first.month % 12 + 1
        return f"{self.first.year + (month == 1):04d}-{month:02d}"


def parse_month(value: str, today: date) -> date:
    """The first day of ``YYYY-MM``; this month for anything else (a page never fails on it)."""
    try:
        year, month = (int(part) for part in value.split("-"))
        return date(year, month, 1) if 1970 <= year <= 9998 else today.replace(day=1)
    except ValueError:
        return today.replace(day=1)


def month_bounds(first: date, zone: tzinfo | None) -> tuple[datetime, datetime]:
    """The month's start and end as aware UTC moments (its local midnights)."""
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    where = zone or UTC
    start = datetime.combine(first, time(), where).astimezone(UTC)
    end = datetime.combine(following, time(), where).astimezone(UTC)
    return start, end


def month_calendar(
    first: date,
    schedule: Schedule | None,
    past: Iterable[tuple[datetime, str]],
    now: datetime,
    *,
    upcoming: bool = True,
    past_cut: bool = False,
) -> Month:
    """The month starting ``first``: ``past`` fires (scheduled time, outcome) on record, and,
    when ``upcoming`` (the definition is enabled), the schedule's fires after ``now`` as
    ``due``. Days are the schedule's local days (UTC without a schedule or zone)."""
    zone = schedule.zone if schedule is not None else None
    start, end = month_bounds(first, zone)
    days = {
        day: Day(day)
        for day in gregorian.Calendar().itermonthdates(first.year, first.month)
        if day.month == first.month
    }
    for scheduled, outcome in past:
        _place(days, scheduled, outcome, zone)
    truncated = past_cut  # the fires on record were read only up to MAX_PAST
    if schedule is not None and upcoming:
        moment = next_fire_after(schedule, max(now, start - timedelta(seconds=1)))
        placed = 0
        while moment is not None and moment < end:
            if placed == MAX_FUTURE:
                truncated = True
                break
            _place(days, moment, "due", zone)
            placed += 1
            moment = next_fire_after(schedule, moment)
    local_today = now.astimezone(zone or UTC).date()
    if local_today in days:
        days[local_today].today = True
    weeks = [
        [days.get(day) if day.month == first.month else None for day in week]
        for week in gregorian.Calendar().monthdatescalendar(first.year, first.month)
    ]
    name = schedule.timezone if schedule is not None and schedule.timezone else "UTC"
    return Month(first, weeks, name, truncated)


def _place(days: dict[date, Day], moment: datetime, outcome: str, zone: tzinfo | None) -> None:
    day = moment.astimezone(zone or UTC).date()
    if day in days:
        days[day].counts[outcome] += 1
