"""Backfill plans: which fire times of a schedule a backfill runs, and how many it releases.

Pure code, no clock: ``now`` and the times that already have a fire are parameters.

- ``fire_times_between(schedule, start, end, limit)``: every fire time ``t`` of the schedule
  with ``start <= t < end``, ascending, in the schedule's time-zone semantics (the same
  ``next_fire_after`` the scheduler uses, DST policies included). More than ``limit`` times is
  ``TooManyFireTimes``: a backfill's size is bounded before anything is stored.
- ``plan_backfill``: each of those times is ``planned`` (it will get a job) or ``skipped`` with
  the reason: it already has a fire (and ``rerun`` is false), or it is at or after the
  definition's next scheduled run time, which belongs to the scheduler (a due time the
  scheduler has not fired yet must not be fired twice).
- ``releasable(max_concurrent, active, planned)``: how many planned times may get their job
  now so that at most ``max_concurrent`` of the backfill's jobs wait or run at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from scorecast.domain.schedule.fires import next_fire_after
from scorecast.domain.schedule.payload import Schedule

#: The most fire times one backfill may hold (274 years of daily fires, 69 days of minutes).
MAX_BACKFILL_FIRES: Final = 100_000
_TICK: Final = timedelta(microseconds=1)


class TooManyFireTimes(ValueError):
    """The range holds more fire times than the limit; ``limit`` says which."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} fire times")
        self.limit = limit


@dataclass(frozen=True)
class PlannedTime:
    """One fire time of a backfill: ``state`` is ``planned`` or ``skipped`` (with ``reason``)."""

    scheduled_time: datetime
    state: str
    reason: str | None = None


def iter_fire_times(schedule: Schedule, start: datetime, end: datetime) -> Iterator[datetime]:
    """Fire times in ``[start, end)``, ascending, as aware UTC datetimes (naive means UTC)."""
    moment = next_fire_after(schedule, start - _TICK)
    end_utc = _aware(end)
    while moment is not None and moment < end_utc:
        yield moment
        moment = next_fire_after(schedule, moment)


def fire_times_between(
    schedule: Schedule, start: datetime, end: datetime, limit: int = MAX_BACKFILL_FIRES
) -> list[datetime]:
    """Every fire time in ``[start, end)``; ``TooManyFireTimes`` when there are more than
    ``limit``."""
    times: list[datetime] = []
    for moment in iter_fire_times(schedule, start, end):
        if len(times) == limit:
            raise TooManyFireTimes(limit)
        times.append(moment)
    return times


def plan_backfill(
    times: Iterable[datetime],
    already_fired: Iterable[datetime],
    *,
    rerun: bool,
    scheduler_from: datetime | None,
) -> list[PlannedTime]:
    """Each time planned or skipped (see the module docstring), in the order given.

    ``scheduler_from``: the definition's next scheduled run time when it is enabled (times at
    or after it are the scheduler's), else None.
    """
    fired = {_aware(moment) for moment in already_fired}
    limit = None if scheduler_from is None else _aware(scheduler_from)
    plan: list[PlannedTime] = []
    for moment in times:
        if limit is not None and moment >= limit:
            reason = "the scheduler fires this time (it is not before the next scheduled run)"
            plan.append(PlannedTime(moment, "skipped", reason))
        elif moment in fired and not rerun:
            reason = "this time already has a fire (rerun was not asked for)"
            plan.append(PlannedTime(moment, "skipped", reason))
        else:
            plan.append(PlannedTime(moment, "planned"))
    return plan


def releasable(max_concurrent: int, active: int, planned: int) -> int:
    """How many planned times get their job now: free places, at most the planned ones."""
    return max(0, min(max_concurrent - active, planned))


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
