"""A schedule's next fires as a person previews them: UTC, local wall-clock time, and whether
each fire meets a daylight-saving change (pure: the moment to start from is a parameter)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from scorecast.domain.schedule.fires import next_fires
from scorecast.domain.schedule.payload import EVERY, FieldValue, Schedule

DstMark = Literal["gap", "overlap"]


@dataclass(frozen=True)
class PreviewFire:
    """One fire: ``utc`` (aware, UTC), ``local`` (aware, in the schedule's zone; UTC without
    one) and ``dst``: ``"gap"`` when a listed time did not exist that day and the fire was
    moved to the moment the clocks jumped, ``"overlap"`` when its wall-clock time occurs twice
    that day, else None."""

    utc: datetime
    local: datetime
    dst: DstMark | None


def preview(schedule: Schedule, after: datetime, count: int) -> list[PreviewFire]:
    """The next ``count`` fires strictly after ``after``, marked as :class:`PreviewFire` says."""
    zone = schedule.zone
    fires: list[PreviewFire] = []
    for moment in next_fires(schedule, after, count):
        if zone is None:
            fires.append(PreviewFire(moment, moment, None))
            continue
        local = moment.astimezone(zone)
        fires.append(PreviewFire(moment, local, _dst_mark(schedule, local)))
    return fires


def _dst_mark(schedule: Schedule, local: datetime) -> DstMark | None:
    if not (_listed(schedule.hour, local.hour) and _listed(schedule.minute, local.minute)):
        return "gap"  # no listed time reads like this: it is where a missing time was moved
    wall = local.replace(tzinfo=None)
    zone = local.tzinfo
    first = wall.replace(fold=0, tzinfo=zone).utcoffset()
    second = wall.replace(fold=1, tzinfo=zone).utcoffset()
    return "overlap" if first != second else None


def _listed(values: FieldValue, value: int) -> bool:
    return values == EVERY or value in values
