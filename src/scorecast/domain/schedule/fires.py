"""Fire times: the instants a schedule fires at, computed directly from the field bitmasks.

Nothing here steps minute by minute. The search walks months (at most 12 per year), takes the
month's matching days as one mask (listed days OR listed weekdays, AND the days the month has),
and picks hour and minute with one shift each. A 29 February schedule costs a few dozen
operations; a schedule that can never fire is known when it is parsed.

Schedules in a time zone are searched on the zone's constant-offset segments: in each segment
local wall-clock time is UTC plus one offset, so the UTC search runs on wall-clock fields and
the result is shifted back. The DST policies decide what happens at the segment boundaries.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Final

from scorecast.domain.schedule.fields import (
    VALID_DAYS,
    WEEKDAY_DAYS,
    lowest_bit,
    month_shape,
)
from scorecast.domain.schedule.payload import Schedule
from scorecast.domain.schedule.zones import DstGapPolicy, DstOverlapPolicy, segment_at

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_MAX_YEAR: Final = 9999
# Beyond this instant a zone's neighbouring wall-clock times are not representable.
_LAST_INSTANT: Final = int(datetime(9999, 12, 30, tzinfo=UTC).timestamp())
# Before this instant neither (searches in a zone start here at the earliest).
_FIRST_INSTANT: Final = int(datetime(2, 1, 2, tzinfo=UTC).timestamp())

Wall = tuple[int, int, int, int, int]


def never_fires(schedule: Schedule) -> bool:
    """True when no date matches (e.g. day 30 or 31 in February only); known without search."""
    return schedule.never


def next_fire_after(schedule: Schedule, moment: datetime) -> datetime | None:
    """The first fire strictly after ``moment``, as an aware UTC datetime; None if there is none.

    A naive ``moment`` is taken as UTC. None means the schedule never fires, or that no fire
    is representable before the year 10000 (in a zone: before 30 December 9999; zone
    searches also start no earlier than 2 January of the year 2).
    """
    plan = schedule.plan
    if plan.never:
        return None
    if plan.zone is None:
        start = _first_utc_minute(moment)
        found = None if start is None else _next_wall(schedule, *start)
        if found is None:
            return None
        return datetime(found[0], found[1], found[2], found[3], found[4], tzinfo=UTC)
    instant = _next_instant_in_zone(schedule, _second_after(moment))
    return None if instant is None else _EPOCH + timedelta(seconds=instant)


def next_fires(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    """The first ``count`` fires strictly after ``after`` (fewer if the schedule runs out)."""
    fires: list[datetime] = []
    if schedule.never or count <= 0:
        return fires
    if schedule.zone is None:
        start = _first_utc_minute(after)
        found = None if start is None else _next_wall(schedule, *start)
        while found is not None:
            fires.append(datetime(found[0], found[1], found[2], found[3], found[4], tzinfo=UTC))
            if len(fires) == count:
                break
            found = _next_wall(schedule, found[0], found[1], found[2], found[3], found[4] + 1)
        return fires
    earliest: int | None = _second_after(after)
    while earliest is not None and len(fires) < count:
        instant = _next_instant_in_zone(schedule, earliest)
        if instant is None:
            break
        fires.append(_EPOCH + timedelta(seconds=instant))
        earliest = instant + 1
    return fires


def matches_wall(schedule: Schedule, wall: Wall) -> bool:
    """True when the local wall-clock minute is listed by the schedule (no DST policy applied)."""
    return _next_wall(schedule, *wall) == wall


def _first_utc_minute(moment: datetime) -> Wall | None:
    """The first UTC minute strictly after ``moment`` (naive = UTC), as fields whose minute may
    be 60; None when that is beyond datetime's range."""
    if moment.tzinfo is not None and moment.tzinfo is not UTC:
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:
            offset = moment.utcoffset()
            if offset is not None and offset > timedelta(0):
                return (1, 1, 1, 0, 0)  # UTC falls before year 1: every minute is after it
            return None
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute + 1)


def _second_after(moment: datetime) -> int:
    """The first whole epoch second strictly after ``moment`` (naive = UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elapsed = moment - _EPOCH
    return elapsed.days * 86400 + elapsed.seconds + 1


def _next_wall(  # noqa: PLR0917 (the hot path: positional ints, no tuple packing)
    schedule: Schedule, year: int, month: int, day: int, hour: int, minute: int
) -> Wall | None:
    """The first listed wall-clock minute at or after the given one (``minute`` may be 60).

    Only ``schedule.never`` being False guarantees termination before the year limit.
    """
    (
        minute_bits,
        hour_bits,
        month_bits,
        static_days,
        weekday_bits,
        first_minute,
        first_hour,
        *_,
    ) = schedule.plan
    weekday_days = WEEKDAY_DAYS[weekday_bits]
    while year <= _MAX_YEAR:
        if not month_bits >> month & 1:
            later_months = month_bits >> (month + 1)
            if later_months:
                month += 1 + lowest_bit(later_months)
            else:
                year += 1
                month = lowest_bit(month_bits)
            day, hour, minute = 1, 0, 0
            continue
        first_weekday, length = month_shape(year, month)
        days = ((static_days | weekday_days[first_weekday]) & VALID_DAYS[length]) >> day << day
        if days:
            found = lowest_bit(days)
            if found != day:
                return (year, month, found, first_hour, first_minute)
            if hour_bits >> hour & 1:
                later_minutes = minute_bits >> minute
                if later_minutes:
                    return (year, month, day, hour, minute + lowest_bit(later_minutes))
            later_hours = hour_bits >> (hour + 1)
            if later_hours:
                return (year, month, day, hour + 1 + lowest_bit(later_hours), first_minute)
            days ^= days & -days
            if days:
                return (year, month, lowest_bit(days), first_hour, first_minute)
        if month == 12:
            year, month = year + 1, 1
        else:
            month += 1
        day, hour, minute = 1, 0, 0
    return None


def _next_wall_seconds(schedule: Schedule, wall: int) -> int | None:
    """The first listed wall-clock time at or after ``wall``; both as seconds since 1970."""
    minutes = -(-wall // 60)
    days, minute_of_day = divmod(minutes, 1440)
    if days + _EPOCH_ORDINAL > date.max.toordinal():
        return None
    start = date.fromordinal(days + _EPOCH_ORDINAL)
    found = _next_wall(
        schedule, start.year, start.month, start.day, minute_of_day // 60, minute_of_day % 60
    )
    if found is None:
        return None
    ordinal = date(found[0], found[1], found[2]).toordinal() - _EPOCH_ORDINAL
    return ordinal * 86400 + found[3] * 3600 + found[4] * 60


def _next_instant_in_zone(schedule: Schedule, earliest: int) -> int | None:
    """The first fire at or after the epoch second ``earliest`` for a schedule with a zone."""
    zone = schedule.zone
    assert zone is not None
    first = schedule.overlap_policy is DstOverlapPolicy.FIRST
    last = schedule.overlap_policy is DstOverlapPolicy.LAST
    shift = schedule.gap_policy is DstGapPolicy.SHIFT
    instant = max(earliest, _FIRST_INSTANT)
    while instant < _LAST_INSTANT:
        offset, start, end = segment_at(zone, instant)
        if shift and start is not None and start.instant == earliest and start.after > start.before:
            # The search starts at a jump: a listed time in the gap just jumped over runs now
            # (a later segment's start is an earlier segment's end, checked below).
            in_gap = _next_wall_seconds(schedule, start.instant + start.before)
            if in_gap is not None and in_gap < start.instant + start.after:
                return start.instant
        wall_from = instant + offset
        if first and start is not None and start.before > start.after:
            # The segment begins with the second pass over repeated wall-clock times.
            wall_from = max(wall_from, start.instant + start.before)
        wall_end = end.instant + offset
        if last and end.after < offset:
            # The segment ends with the first pass over wall-clock times that will repeat.
            wall_end = end.instant + end.after
        wall = _next_wall_seconds(schedule, wall_from)
        if wall is None:
            return None
        if wall < wall_end:
            return wall - offset
        if shift and end.after > offset and wall < end.instant + end.after:
            # A listed wall-clock time lies in the gap: run when the clocks jump.
            return end.instant
        instant = end.instant
    return None
