"""Time zones for schedules: IANA zones through :mod:`zoneinfo`, and the DST policies.

A schedule's local wall-clock times become UTC instants. Where the zone's offset changes, a
wall-clock time can be missing (spring forward: a *gap*) or occur twice (fall back: an
*overlap*); the two policies say what a listed time in such a place means.

The engine works on offset *segments*: stretches of UTC time with one constant offset, found
from the zone's transitions. :mod:`zoneinfo` has no public list of transitions, so they are
found by sampling the UTC offset once a day (:data:`SAMPLE_SECONDS`) and bisecting each change
to the second. Two changes that cancel each other within one day would be missed; tzdata has
no such pair (the test-suite compares the result with the TZif data of sample zones).

A segment with no transition found ahead is cut at a year's end (or at :data:`SEARCH_END`),
never just after the instant asked about: a search walks a year in at most a few segments.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Distance between two offset samples when looking for transitions (one day).
SAMPLE_SECONDS: Final = 86400
#: Transitions are searched this many years ahead before a segment is cut artificially.
LOOKAHEAD_YEARS: Final = 10
_EPOCH_YEAR: Final = 1970
#: Years outside this range have no transitions (datetime cannot represent their neighbours);
#: in the last one they are searched up to :data:`SEARCH_END` only.
FIRST_YEAR: Final = 2
LAST_YEAR: Final = 9999
#: Epoch seconds of 30 December 9999 UTC: zone searches end here, as past it the wall clock of a
#: zone up to a day ahead of UTC is beyond the range of datetime.
SEARCH_END: Final = int(datetime(LAST_YEAR, 12, 30, tzinfo=UTC).timestamp())
# Epoch seconds of 1 January 10000 UTC, one past the last second datetime can hold.
_TIME_END: Final = int(datetime(LAST_YEAR, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()) + 1


class DstGapPolicy(enum.Enum):
    """What a listed local time that does not exist (clocks spring forward over it) means."""

    #: Run once at the first instant after the gap (the moment the clocks jump). The default.
    SHIFT = "shift"
    #: Do not run for that local time on that day.
    SKIP = "skip"


class DstOverlapPolicy(enum.Enum):
    """What a listed local time that occurs twice (clocks fall back over it) means."""

    #: Run at its first occurrence (still on daylight time). The default.
    FIRST = "first"
    #: Run at its second occurrence (already on standard time).
    LAST = "last"
    #: Run at both occurrences.
    BOTH = "both"


class Transition(NamedTuple):
    """The zone's UTC offset changes at ``instant`` (epoch seconds) from ``before`` to ``after``."""

    instant: int
    before: int
    after: int


class Segment(NamedTuple):
    """A stretch of UTC time with one offset; ``start``/``end`` are the transitions bounding it.

    ``end.after == offset`` marks an artificial end (no transition found within the lookahead):
    the end of a year, :data:`SEARCH_END`, or past that the end of datetime's range.
    ``start`` is None when no transition is known in the year of the segment or the one before.
    """

    offset: int
    start: Transition | None
    end: Transition


def load_zone(key: str) -> ZoneInfo:
    """The IANA zone named ``key``; raises :class:`LookupError` when it does not exist."""
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise LookupError(key) from exc


def is_utc(zone: ZoneInfo) -> bool:
    """True for zones that are UTC at every instant (``UTC``, ``Etc/UTC``, ``Etc/Zulu``, ...)."""
    return zone.key in {"UTC", "Etc/UTC", "Etc/Universal", "Etc/Zulu", "Universal", "Zulu"}


def offset_at(zone: ZoneInfo, instant: int) -> int:
    """The zone's UTC offset in seconds at ``instant`` (epoch seconds)."""
    offset = datetime.fromtimestamp(instant, zone).utcoffset()
    assert offset is not None
    return offset.days * 86400 + offset.seconds


def _year_start(year: int) -> int:
    return int(datetime(year, 1, 1, tzinfo=UTC).timestamp())


def _year_end(year: int) -> int:
    return SEARCH_END if year >= LAST_YEAR else _year_start(year + 1)


@lru_cache(maxsize=8192)
def transitions_in_year(zone: ZoneInfo, year: int) -> tuple[Transition, ...]:
    """The zone's transitions with instants in ``(1 Jan year, 1 Jan year+1]`` UTC, in order
    (in :data:`LAST_YEAR`: up to :data:`SEARCH_END`)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return ()
    start, end = _year_start(year), _year_end(year)
    found: list[Transition] = []
    low, low_offset = start, offset_at(zone, start)
    while low < end:
        high = min(low + SAMPLE_SECONDS, end)
        high_offset = offset_at(zone, high)
        while high_offset != low_offset:
            # The first second in (low, high] whose offset differs from low_offset.
            lo, hi = low, high
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset_at(zone, mid) == low_offset:
                    lo = mid
                else:
                    hi = mid
            new_offset = offset_at(zone, hi)
            found.append(Transition(hi, low_offset, new_offset))
            low, low_offset = hi, new_offset
        low, low_offset = high, high_offset
    return tuple(found)


def year_of(instant: int) -> int:
    """The UTC calendar year of ``instant`` (epoch seconds)."""
    return datetime.fromtimestamp(instant, UTC).year


def segment_at(zone: ZoneInfo, instant: int) -> Segment:
    """The constant-offset segment of ``zone`` that contains ``instant``."""
    offset = offset_at(zone, instant)
    year = year_of(instant)
    end: Transition | None = None
    last_year = min(year + LOOKAHEAD_YEARS, LAST_YEAR)
    for candidate_year in range(year, last_year + 1):
        for transition in transitions_in_year(zone, candidate_year):
            if transition.instant > instant:
                end = transition
                break
        if end is not None:
            break
    if end is None:
        # Only an instant at or past SEARCH_END lies beyond the year's end.
        cut = _year_end(last_year)
        end = Transition(cut if cut > instant else _TIME_END, offset, offset)
    start: Transition | None = None
    for candidate_year in (year, year - 1):
        for transition in reversed(transitions_in_year(zone, candidate_year)):
            if transition.instant <= instant:
                start = transition
                break
        if start is not None:
            break
    return Segment(offset, start, end)


def transitions_between(zone: ZoneInfo, first_year: int, last_year: int) -> list[Transition]:
    """All transitions of ``zone`` in the UTC years ``first_year`` to ``last_year`` inclusive."""
    found: list[Transition] = []
    for year in range(first_year, last_year + 1):
        found.extend(transitions_in_year(zone, year))
    return found
