"""A schedule in plain English, with warnings about the surprises it holds.

Example: ``At 16:00 UTC on day 1 of every month and on every Monday``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from scorecast.domain.schedule.fields import (
    MAX_DAYS_IN_MONTH,
    MONTH_NAMES,
    WEEKDAY_NAMES,
)
from scorecast.domain.schedule.fires import matches_wall
from scorecast.domain.schedule.payload import EVERY, FieldValue, Schedule
from scorecast.domain.schedule.zones import (
    DstGapPolicy,
    DstOverlapPolicy,
    transitions_between,
)

#: Without ``now``, DST warnings look at these years, where tzdata applies each zone's
#: standing rules (explicit transitions in tzdata mostly end in 2037).
DEFAULT_DST_YEARS: Final = (2040, 2051)
#: With ``now``, DST warnings look at that year and this many following years.
DST_LOOKAHEAD_YEARS: Final = 5
_MAX_EXACT_TIMES: Final = 8
_MAX_LISTED_TIMES: Final = 6


@dataclass(frozen=True, slots=True)
class Description:
    """The English text of a schedule and its warnings (empty when nothing is surprising)."""

    text: str
    warnings: list[str] = field(default_factory=list)


def describe(schedule: Schedule, now: datetime | None = None) -> Description:
    """Describe ``schedule``; DST warnings consider the zone's transitions from ``now`` on.

    ``now`` only bounds which DST transitions are examined (its year and the five after);
    without it the years 2040-2051 are used, which show each zone's standing rules.
    """
    text = f"{_time_phrase(schedule)} {_zone_phrase(schedule)} {_day_phrase(schedule)}"
    warnings = _calendar_warnings(schedule)
    if schedule.zone is not None and not schedule.never:
        if now is None:
            first_year, last_year = DEFAULT_DST_YEARS
        else:
            first_year = now.year
            last_year = min(now.year + DST_LOOKAHEAD_YEARS, 9998)
        warnings.extend(_dst_warnings(schedule, first_year, last_year))
    return Description(text=text, warnings=warnings)


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _runs(values: tuple[int, ...]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for value in values:
        if runs and runs[-1][1] == value - 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


def _list(values: tuple[int, ...], name: dict[int, str] | None = None, dash: str = "-") -> str:
    """Values joined in English, runs of three or more as ranges (``1-5``, ``Monday to Friday``)."""
    words: list[str] = []
    for low, high in _runs(values):
        show_low = name[low] if name else str(low)
        show_high = name[high] if name else str(high)
        if high - low >= 2:
            words.append(f"{show_low}{dash}{show_high}")
        else:
            words.extend(name[v] if name else str(v) for v in range(low, high + 1))
    return _join(words)


_MONTHS: Final = {number: name.title() for number, name in enumerate(MONTH_NAMES, start=1)}
_WEEKDAYS: Final = {number: name.title() for number, name in enumerate(WEEKDAY_NAMES)}


def _plural(word: str, values: FieldValue) -> str:
    return word if len(values) == 1 else f"{word}s"


def _time_phrase(schedule: Schedule) -> str:
    minutes, hours = schedule.minute, schedule.hour
    if minutes == EVERY and hours == EVERY:
        return "Every minute"
    if minutes == EVERY:
        assert hours != EVERY
        return f"Every minute of {_plural('hour', hours)} {_list(hours)}"
    if hours == EVERY:
        return f"At {_plural('minute', minutes)} {_list(minutes)} of every hour"
    if len(minutes) * len(hours) <= _MAX_EXACT_TIMES:
        return "At " + _join([f"{hour:02d}:{minute:02d}" for hour in hours for minute in minutes])
    return (
        f"At {_plural('minute', minutes)} {_list(minutes)} of {_plural('hour', hours)}"
        f" {_list(hours)}"
    )


def _zone_phrase(schedule: Schedule) -> str:
    return "UTC" if schedule.zone is None else f"({schedule.timezone} time)"


def _day_phrase(schedule: Schedule) -> str:
    days, weekdays, months = schedule.day_of_month, schedule.day_of_week, schedule.month
    in_months = "" if months == EVERY else f" in {_list(months, _MONTHS, ' to ')}"
    of_months = "of every month" if months == EVERY else f"of {_list(months, _MONTHS, ' to ')}"
    if days == EVERY and weekdays == EVERY:
        return f"every day{in_months}"
    on_weekdays = ""
    if weekdays != EVERY:
        on_weekdays = f"on every {_list(weekdays, _WEEKDAYS, ' to ')}{in_months}"
    if days == EVERY:
        return on_weekdays
    on_days = f"on {_plural('day', days)} {_list(days)} {of_months}"
    return on_days if weekdays == EVERY else f"{on_days} and {on_weekdays}"


def _calendar_warnings(schedule: Schedule) -> list[str]:
    days, months = schedule.day_of_month, schedule.month
    if days == EVERY:
        return []
    listed_months = tuple(range(1, 13)) if months == EVERY else months
    day_words = f"{_plural('day', days)} {_list(days)}"
    if schedule.never:
        return [
            f"never fires: {day_words} never {'occurs' if len(days) == 1 else 'occur'} in"
            f" {_list(listed_months, _MONTHS, ' to ')}"
        ]
    warnings: list[str] = []
    empty = tuple(m for m in listed_months if min(days) > MAX_DAYS_IN_MONTH[m])
    if empty:
        still = (
            " (it still runs there on the listed weekdays)" if schedule.plan.weekday_bits else ""
        )
        warnings.append(
            f"{_list(empty, _MONTHS, ' to ')} never {'matches' if len(empty) == 1 else 'match'}"
            " the listed days of the month"
            f" ({_list(days)}){still}"
        )
    for day in sorted({d for d in days if d >= 29}):
        short = tuple(m for m in listed_months if m not in empty and day > MAX_DAYS_IN_MONTH[m])
        if short:
            warnings.append(
                f"day {day} does not exist in {_list(short, _MONTHS, ' to ')} and is skipped there"
            )
    if 29 in days and 2 in listed_months and 2 not in empty:
        warnings.append("day 29 of February exists only in leap years")
    return warnings


def _clock(seconds: int) -> str:
    minutes = seconds // 60 % 1440
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _dst_warnings(schedule: Schedule, first_year: int, last_year: int) -> list[str]:
    """Listed local times on listed days that fall into a gap or an overlap of the zone."""
    zone = schedule.zone
    assert zone is not None
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    found: dict[str, tuple[str, set[str]]] = {}
    for transition in transitions_between(zone, first_year, last_year):
        low = transition.instant + min(transition.before, transition.after)
        high = transition.instant + max(transition.before, transition.after)
        kind = "gap" if transition.after > transition.before else "overlap"
        wall = -(-low // 60) * 60
        while wall < high:
            local = epoch + timedelta(seconds=wall)
            if matches_wall(
                schedule, (local.year, local.month, local.day, local.hour, local.minute)
            ):
                jump = f"{_clock(transition.instant + transition.before)} to "
                jump += _clock(transition.instant + transition.after)
                example, times = found.setdefault(kind, (f"{local:%Y-%m-%d} ({jump})", set()))
                times.add(f"{local:%H:%M}")
            wall += 60
    warnings: list[str] = []
    for kind, (example, times) in sorted(found.items()):
        shown = sorted(times)
        listed = _join(shown[:_MAX_LISTED_TIMES])
        if len(shown) > _MAX_LISTED_TIMES:
            listed = (
                f"{', '.join(shown[:_MAX_LISTED_TIMES])} and {len(shown) - _MAX_LISTED_TIMES} more"
            )
        one = len(shown) == 1
        subject = f"local {'time' if one else 'times'} {listed}"
        if kind == "gap":
            effect = (
                "runs once when the clocks jump"
                if schedule.gap_policy is DstGapPolicy.SHIFT
                else "does not run then"
            )
            verb = "falls" if one else "fall"
            warnings.append(
                f"{subject} {verb} into a DST gap in {schedule.timezone}, e.g. on {example}:"
                f" with dstGapPolicy {schedule.gap_policy.value} it {effect}"
            )
        else:
            effect = {
                DstOverlapPolicy.FIRST: "runs at the first occurrence only",
                DstOverlapPolicy.LAST: "runs at the second occurrence only",
                DstOverlapPolicy.BOTH: "runs at both occurrences",
            }[schedule.overlap_policy]
            verb = "occurs" if one else "occur"
            warnings.append(
                f"{subject} {verb} twice in {schedule.timezone}, e.g. on {example}:"
                f" with dstOverlapPolicy {schedule.overlap_policy.value} it {effect}"
            )
    return warnings
